"""Alert rules: which rows open a case, for whom, with which words (issue 8 item 1).

Evaluated in tasks (apps/feedback/tasks.py), queued on commit of the triggering row, so a rule never
slows the respondent or the staff member down; every evaluation is idempotent through `case_open`'s
(rule, dedupe_key) uniqueness: evaluating a row twice (or concurrently) leaves one case per rule.

- **Responses** (`response:<id>`): NPS / CSAT / CES answer ≤ the rule's threshold; negative comment:
  the compound sentiment of the comment in its language (`apps.core.nlp.analyse_text`, in [−1, 1], the
  same score the response stores) ≤ the threshold. Scoped by the rule's touchpoint and survey when set. Bot-flagged responses never
  open a case. Score rules record trigger_metric/trigger_score (the recovery report compares the
  recovery answer with it).
- **Interactions** (`interaction:<id>`): an interaction flagged for follow-up (and not done), scoped
  by the rule's touchpoint.
- **Churn risk** (`client:<id>:risk:<YYYY-MM-DD>`): the client's score crosses the threshold upward
  (previous < threshold ≤ new; a client scored for the first time counts as crossing). While a risk
  case of the same rule is still open for the client, no second one is opened (the open one is
  returned); the date in the key makes a repeated refresh on the same day a no-op, and a client who
  recovers and crosses again on a later day gets a new case once the first is closed.

Assignee (`AlertRule.assign_to`): a named member; a team's queue (no assignee, the team set); the
client's owner (fallback: the rule's assignee); the staff member of the response's interaction or of
the interaction (fallback: the rule's assignee). A resolved member who is inactive or not staff-and-up
falls back the same way; with no usable member the case waits in the rule's team queue (or
unassigned, where the overdue escalation catches it).
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from apps.clients.models import Client, Contact
from apps.feedback.cases.services import case_open
from apps.feedback.models import AlertRule, Case
from apps.surveys.models import Response
from apps.surveys.responses.comments import response_comment_sentiment
from apps.tenancy.models import STAFF_AND_UP, Membership, Tenant
from apps.touchpoints.models import Interaction

Trigger = AlertRule.Trigger
SCORE_FIELDS = {Trigger.NPS_AT_MOST: "nps", Trigger.CSAT_AT_MOST: "csat", Trigger.CES_AT_MOST: "ces"}
SCALE_TOP = {"nps": 10, "csat": 5, "ces": 7}
METRIC_LABEL = {"nps": "NPS", "csat": "CSAT", "ces": "CES"}
EXCERPT = 160


def _usable(member: Membership | None) -> bool:
    return member is not None and member.is_active and member.role in STAFF_AND_UP


def assignee_for(rule: AlertRule, *, client: Client | None = None, staff: Membership | None = None) -> tuple[Membership | None, object]:
    """(assignee, team) for a case of `rule` about `client`, handled by `staff` (module docstring)."""
    if rule.assign_to == AlertRule.AssignTo.TEAM:
        return None, rule.team
    if rule.assign_to == AlertRule.AssignTo.CLIENT_OWNER:
        member = client.owner if client is not None else None
    elif rule.assign_to == AlertRule.AssignTo.STAFF:
        member = staff
    else:
        member = rule.assignee
    if not _usable(member):
        member = rule.assignee
    if not _usable(member):
        return None, rule.team
    return member, rule.team


def _excerpt(text: str, limit: int = EXCERPT) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[:limit - 1].rstrip() + "…"


def _who(contact: Contact | None, client: Client | None) -> str:
    if contact is not None and client is not None:
        return f"{contact.name} ({client.name})"
    if client is not None:
        return client.name
    return contact.name if contact is not None else "An anonymous respondent"


def _open(rule: AlertRule, *, tenant: Tenant, now, **fields) -> tuple[Case, bool]:
    assignee, team = assignee_for(rule, client=fields.get("client"), staff=fields.pop("staff", None))
    return case_open(tenant=tenant, rule=rule, assignee=assignee, team=team, sla_hours=rule.sla_hours, now=now, **fields)


def _active_rules(*triggers):
    return list(AlertRule.objects.filter(is_active=True, trigger__in=triggers)
                .select_related("assignee__user", "team").order_by("pk"))


# --- responses ----------------------------------------------------------------------------------

def _response_match(rule: AlertRule, response: Response, sentiment) -> tuple[str, int | None, str] | None:
    """(metric, score, why in words) when the rule fires on the response, else None."""
    threshold = float(rule.threshold)
    field = SCORE_FIELDS.get(rule.trigger)
    if field is not None:
        value = getattr(response, field)
        if value is None or value > threshold:
            return None
        return field, value, f"{METRIC_LABEL[field]} {value} of {SCALE_TOP[field]}"
    if rule.trigger == Trigger.NEGATIVE_COMMENT and response.comment.strip():
        score = sentiment()
        if score <= threshold:
            return "", None, f"a negative comment (sentiment {score:+.2f})"
    return None


@transaction.atomic
def alert_rules_evaluate_response(*, tenant: Tenant, response_id: int, now=None) -> list[tuple[Case, bool]]:
    """Open a case for every active response rule the response matches (idempotent). `now`: the
    opening time (default: the current time; the demo replays history with it)."""
    response = (Response.objects.select_related("survey", "client__owner__user", "contact", "touchpoint", "staff__user")
                .filter(pk=response_id).first())
    if response is None or response.is_bot:
        return []
    rules = _active_rules(*AlertRule.RESPONSE_TRIGGERS)
    computed = {}

    def sentiment() -> float:
        if "value" not in computed:
            computed["value"] = response_comment_sentiment(response)
        return computed["value"]

    results = []
    for rule in rules:
        if rule.touchpoint_id and rule.touchpoint_id != response.touchpoint_id:
            continue
        if rule.survey_id and rule.survey_id != response.survey_id:
            continue
        match = _response_match(rule, response, sentiment)
        if match is None:
            continue
        metric, score, why = match
        who = _who(response.contact, response.client)
        where = f" at {response.touchpoint.name}" if response.touchpoint_id else ""
        description = f"{who} answered the survey “{response.survey.name}”{where} on {response.local_day:%Y-%m-%d}: {why}."
        if response.comment.strip():
            description += f"\n\nComment: “{_excerpt(response.comment, 600)}”"
        title = f"{why[0].upper()}{why[1:]} from {who}"
        if response.comment.strip() and metric:
            title += f": “{_excerpt(response.comment, 80)}”"
        results.append(_open(rule, tenant=tenant, now=now, source=Case.Source.RESPONSE, dedupe_key=f"response:{response.pk}",
                             response=response, client=response.client, contact=response.contact, title=title[:200],
                             description=description, trigger_metric=metric, trigger_score=score, staff=response.staff))
    return results


# --- interactions -------------------------------------------------------------------------------

@transaction.atomic
def alert_rules_evaluate_interaction(*, tenant: Tenant, interaction_id: int, now=None) -> list[tuple[Case, bool]]:
    """An interaction flagged for follow-up (not done yet) opens a case per active follow-up rule."""
    interaction = (Interaction.objects.select_related("client__owner__user", "contact", "touchpoint", "staff__user")
                   .filter(pk=interaction_id).first())
    if interaction is None or not interaction.follow_up or interaction.follow_up_done_at is not None:
        return []
    results = []
    for rule in _active_rules(Trigger.INTERACTION_FOLLOW_UP):
        if rule.touchpoint_id and rule.touchpoint_id != interaction.touchpoint_id:
            continue
        who = _who(interaction.contact, interaction.client)
        staff_name = interaction.staff.user.full_name or interaction.staff.user.email
        description = (f"{staff_name} flagged a {interaction.touchpoint.name} interaction with {who} on "
                       f"{timezone.localtime(interaction.occurred_at):%Y-%m-%d} for follow-up"
                       + (f" (due {interaction.follow_up_due:%Y-%m-%d})" if interaction.follow_up_due else "")
                       + f". Outcome: {interaction.get_outcome_display().lower()}.\n\nSummary: “{_excerpt(interaction.summary, 280)}”")
        title = f"Follow-up for {who}: {_excerpt(interaction.summary, 90)}"
        results.append(_open(rule, tenant=tenant, now=now, source=Case.Source.INTERACTION,
                             dedupe_key=f"interaction:{interaction.pk}", interaction=interaction, client=interaction.client,
                             contact=interaction.contact, title=title[:200], description=description, staff=interaction.staff))
    return results


# --- churn risk ---------------------------------------------------------------------------------

def churn_risk_thresholds() -> list[float]:
    """The thresholds of the active churn-risk rules (the refresh checks crossings against these)."""
    return [float(t) for t in AlertRule.objects.filter(is_active=True, trigger=Trigger.CHURN_RISK_ABOVE)
            .values_list("threshold", flat=True)]


def crossed(previous_score, score, threshold: float) -> bool:
    """Upward crossing: previous < threshold ≤ new (a first score counts as crossing)."""
    return score is not None and score >= threshold and (previous_score is None or previous_score < threshold)


def _first_reachable_contact(client: Client) -> Contact | None:
    return Contact.objects.filter(client=client, opted_out=False).exclude(email="").order_by("created_at", "pk").first()


@transaction.atomic
def alert_rules_evaluate_client_risk(*, tenant: Tenant, client_id: int, previous_score, score) -> list[tuple[Case, bool]]:
    """A client's churn risk crossed upward: one case per crossed active rule (module docstring for
    the dedupe: one open risk case per client and rule). The reasons in words come from the client's
    ClientHealth row."""
    from apps.metrics.models import ClientHealth

    rules = [r for r in _active_rules(Trigger.CHURN_RISK_ABOVE) if crossed(previous_score, score, float(r.threshold))]
    if not rules:
        return []
    client = Client.objects.select_related("owner__user").filter(pk=client_id).first()
    if client is None:
        return []
    health = ClientHealth.objects.filter(client=client).first()
    reasons = [r.get("text", "") for r in (health.reasons if health else []) if isinstance(r, dict) and r.get("text")]
    today = timezone.localdate(timezone=_zone(tenant))
    results = []
    for rule in rules:
        still_open = Case.objects.filter(rule=rule, client=client, status__in=(Case.Status.OPEN, Case.Status.IN_PROGRESS)).first()
        if still_open is not None:
            results.append((still_open, False))
            continue
        before = "not scored before" if previous_score is None else f"was {previous_score}"
        description = f"{client.name}'s churn risk rose to {score} of 100 ({before}; the rule's threshold is {float(rule.threshold):g})."
        if reasons:
            description += "\n\nWhy:\n" + "\n".join(f"- {text}" for text in reasons)
        results.append(_open(rule, tenant=tenant, now=None, source=Case.Source.CLIENT, dedupe_key=f"client:{client.pk}:risk:{today:%Y-%m-%d}",
                             client=client, contact=_first_reachable_contact(client),
                             title=f"Churn risk {score} for {client.name}" + (f": {reasons[0]}" if reasons else ""),
                             description=description))
    return results


def _zone(tenant: Tenant):
    from zoneinfo import ZoneInfo

    return ZoneInfo(tenant.time_zone)
