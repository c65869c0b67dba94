"""Writes for the cases' configuration: the root-cause taxonomy and the alert rules (admins).

Convention (STYLE.md): keyword-only, atomic, full_clean(), an audit event per change. `acting_user` is
a User, an API-key principal or None (system). Every related row (member, team, touchpoint, survey)
must belong to the tenant (`Model.clean` → "Not found." on the field), and a member who receives cases
must be able to work them (an active admin, CX lead or staff member; viewers only read).
"""

from __future__ import annotations

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from apps.feedback.models import AlertRule, RootCause
from apps.surveys.models import Survey
from apps.tenancy.models import STAFF_AND_UP, Membership, Tenant
from apps.tenancy.services import audit_changes, audit_event_record

ROOT_CAUSE_FIELDS = ("name", "description", "is_active")
ALERT_RULE_FIELDS = ("name", "is_active", "trigger", "threshold", "touchpoint", "survey", "assign_to", "assignee", "team",
                     "sla_hours", "recovery_survey")


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, Membership):
        return value.user.email
    return str(value)


def _snapshot(obj, fields) -> dict:
    return {name: _text(getattr(obj, name)) for name in fields}


def _unknown_fields(data: dict, allowed) -> None:
    unknown = set(data) - set(allowed)
    if unknown:
        raise ValidationError({name: "This field cannot be set." for name in sorted(unknown)})


def _strip(data: dict) -> dict:
    return {k: v.strip() if isinstance(v, str) else v for k, v in data.items()}


def _save_unique(obj, *, field: str, message: str) -> None:
    """Save; a concurrent insert of the same unique name becomes a field error, not a 500."""
    try:
        with transaction.atomic():
            obj.save()
    except IntegrityError as exc:
        raise ValidationError({field: message}) from exc


def _acting_member(acting_user) -> Membership | None:
    if acting_user is None or getattr(acting_user, "api_key", None) is not None or not getattr(acting_user, "pk", None):
        return None
    return Membership.objects.filter(user=acting_user).first()


# --- root causes --------------------------------------------------------------------------------

def _check_root_cause_name_free(cause: RootCause) -> None:
    if RootCause.objects.filter(name__iexact=cause.name).exclude(pk=cause.pk).exists():
        raise ValidationError({"name": f"There is already a root cause called “{cause.name}”."})


@transaction.atomic
def root_cause_create(*, tenant: Tenant, acting_user, data: dict) -> RootCause:
    """Add a cause to the tenant's taxonomy (names unique in the tenant, any case)."""
    _unknown_fields(data, ROOT_CAUSE_FIELDS)
    cause = RootCause(tenant=tenant, **_strip(data))
    cause.full_clean(validate_constraints=False)
    _check_root_cause_name_free(cause)
    _save_unique(cause, field="name", message="There is already a root cause with this name.")
    audit_event_record(tenant=tenant, acting_user=acting_user, action="root_cause.created", target=cause)
    return cause


@transaction.atomic
def root_cause_update(*, tenant: Tenant, acting_user, root_cause: RootCause, data: dict) -> RootCause:
    """Rename, describe, archive (`is_active=False`) or restore a cause. Cases keep their cause."""
    _unknown_fields(data, ROOT_CAUSE_FIELDS)
    cause = RootCause.objects.select_for_update().get(pk=root_cause.pk)
    before = _snapshot(cause, ROOT_CAUSE_FIELDS)
    for name, value in _strip(data).items():
        setattr(cause, name, value)
    cause.full_clean(validate_constraints=False)
    _check_root_cause_name_free(cause)
    changes = audit_changes(before, _snapshot(cause, ROOT_CAUSE_FIELDS))
    if changes:
        _save_unique(cause, field="name", message="There is already a root cause with this name.")
        audit_event_record(tenant=tenant, acting_user=acting_user, action="root_cause.updated", target=cause, changes=changes)
    return cause


@transaction.atomic
def root_cause_archive(*, tenant: Tenant, acting_user, root_cause: RootCause) -> RootCause:
    """Archive a cause: resolved cases keep it, new resolutions cannot choose it. Never deleted (the
    recovery report and the audits group by it)."""
    return root_cause_update(tenant=tenant, acting_user=acting_user, root_cause=root_cause, data={"is_active": False})


# --- alert rules --------------------------------------------------------------------------------

def _validate_rule(rule: AlertRule, *, previous: AlertRule | None = None) -> None:
    """The rule's own clean() (scale of the threshold, tenant of every related row, who receives)
    plus what it cannot see: the receiving member can work cases; the recovery survey can be sent."""
    if rule.trigger == AlertRule.Trigger.INTERACTION_FOLLOW_UP:
        rule.threshold = Decimal(0)  # no threshold: the flag is the trigger
    rule.full_clean(validate_constraints=False)
    errors = {}
    assignee = rule.assignee
    keeps = previous is not None and previous.assignee_id == rule.assignee_id
    if assignee is not None and not keeps and (not assignee.is_active or assignee.role not in STAFF_AND_UP):
        errors["assignee"] = "Choose an active admin, CX lead or staff member: viewers and people who left cannot work cases."
    if rule.recovery_survey_id and rule.recovery_survey.status == Survey.Status.CLOSED and not (
            previous is not None and previous.recovery_survey_id == rule.recovery_survey_id):
        errors["recovery_survey"] = "This survey is closed: choose a live survey for recovery."
    if rule.trigger in (AlertRule.Trigger.CHURN_RISK_ABOVE,) and (rule.touchpoint_id or rule.survey_id):
        errors["trigger"] = "A churn-risk rule listens to clients, not to a touchpoint or a survey: remove the scope."
    if rule.trigger == AlertRule.Trigger.INTERACTION_FOLLOW_UP and rule.survey_id:
        errors["survey"] = "An interaction rule has no survey: scope it by touchpoint only."
    if rule.assign_to == AlertRule.AssignTo.STAFF and rule.trigger not in (
            AlertRule.Trigger.INTERACTION_FOLLOW_UP, *AlertRule.RESPONSE_TRIGGERS):
        errors["assign_to"] = "Only interaction and response rules have a staff member to assign to."
    if errors:
        raise ValidationError(errors)
    if AlertRule.objects.filter(name__iexact=rule.name).exclude(pk=rule.pk).exists():
        raise ValidationError({"name": f"There is already an alert rule called “{rule.name}”."})


@transaction.atomic
def alert_rule_create(*, tenant: Tenant, acting_user, data: dict) -> AlertRule:
    """Create an alert rule. Rules: see `_validate_rule` and AlertRule.clean()."""
    _unknown_fields(data, ALERT_RULE_FIELDS)
    rule = AlertRule(tenant=tenant, created_by=_acting_member(acting_user), **_strip(data))
    _validate_rule(rule)
    _save_unique(rule, field="name", message="There is already an alert rule with this name.")
    audit_event_record(tenant=tenant, acting_user=acting_user, action="alert_rule.created", target=rule,
                       changes={k: [None, v] for k, v in _snapshot(rule, ALERT_RULE_FIELDS).items() if v})
    return rule


@transaction.atomic
def alert_rule_update(*, tenant: Tenant, acting_user, rule: AlertRule, data: dict) -> AlertRule:
    """Change some of a rule's fields; existing cases keep their assignee and due time."""
    _unknown_fields(data, ALERT_RULE_FIELDS)
    rule = AlertRule.objects.select_for_update(of=("self",)).select_related("assignee__user").get(pk=rule.pk)
    previous = AlertRule(assignee_id=rule.assignee_id, recovery_survey_id=rule.recovery_survey_id)
    before = _snapshot(rule, ALERT_RULE_FIELDS)
    for name, value in _strip(data).items():
        setattr(rule, name, value)
    _validate_rule(rule, previous=previous)
    changes = audit_changes(before, _snapshot(rule, ALERT_RULE_FIELDS))
    if changes:
        _save_unique(rule, field="name", message="There is already an alert rule with this name.")
        audit_event_record(tenant=tenant, acting_user=acting_user, action="alert_rule.updated", target=rule, changes=changes)
    return rule


@transaction.atomic
def alert_rule_delete(*, tenant: Tenant, acting_user, rule: AlertRule) -> int:
    """Delete a rule. Its cases stay (with no rule; their dedupe keys no longer block anything, as
    the rule that fired them is gone). Returns how many cases it had opened."""
    cases = rule.cases.count()
    audit_event_record(tenant=tenant, acting_user=acting_user, action="alert_rule.deleted", target=rule,
                       changes={"cases": [cases, cases]} if cases else None)
    rule.delete()
    return cases
