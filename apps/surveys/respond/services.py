"""Answering a survey (issue 5 items 11–14; DESIGN.md flow 2): `response_submit` stores one response.

The rules it applies:

- Answers are validated against the version's questions: required questions answered, scores within
  the question type's scale (`SCALES`; a rating question's own `options` min/max), choices among the
  question's options, free text at most TEXT_MAX characters. Unknown keys are refused.
- A response and its answers are written in one transaction. One invitation → at most one response:
  the invitation row is locked first (concurrent submits of one link queue up and the later ones
  find the first response), and the database's unique constraint is the last word (an IntegrityError
  returns the existing response with created=False). The same holds for an anonymous form's
  `submission_key` (unique per survey).
- Attribution is copied as of submission: from the invitation its client, contact and interaction;
  from the interaction its touchpoint and staff member (and client/contact when the invitation has
  none); the stage is the survey's, else the one stage the touchpoint is placed on (if exactly one);
  the segment is the client's segment now. A kiosk answer is attributed to the kiosk's touchpoint,
  else the survey's; any other answer without an interaction to the survey's touchpoint.
- Denormalised scores: the first answer of each scored type goes to `nps`, `csat`, `ces`, `smiley`.
  **eNPS stays out of customer NPS**: for a survey of kind `enps` the 0–10 answer goes to `enps`
  (METRICS.md computes eNPS over enps surveys' answers) and `nps` stays empty, so no customer NPS
  rollup can ever count an employee. `comment` is the first non-empty free-text answer.
- The journey is the stage's; `predicted` is the triggering interaction's predicted score (the
  perception-gap pair of METRICS.md is then (predicted, nps) on one row); `local_day` is the
  submission's date in the tenant's time zone (the rollup day).
- On commit, the metrics task refreshes the rollup day of a counted (non-bot) response.
- The invitation becomes `responded` (responded_at = submitted_at): reminders stop.

Callers check that the link may still be answered (expiry, survey open) before calling: the
service stores what it is given, so that the demo seeder can replay history with `submitted_at`.
"""

from __future__ import annotations

from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.core.dates import local_day
from apps.core.events import response_changed, response_created
from apps.journeys.models import Stage, StageTouchpoint
from apps.surveys.logic import Flow, question_choice_values, question_scale
from apps.surveys.models import (
    INVITATIONS_CHANGED,
    Answer,
    Invitation,
    KioskDevice,
    Question,
    QuestionType,
    Response,
    SurveyKind,
    SurveyVersion,
)
from apps.surveys.respond.selectors import response_answers
from apps.tenancy.due import due_note
from apps.tenancy.models import Tenant
from apps.tenancy.tasks import enqueue_on_commit

TEXT_MAX = 5000
SCORED_FIELDS = {QuestionType.NPS: "nps", QuestionType.CSAT: "csat", QuestionType.CES: "ces", QuestionType.SMILEY: "smiley"}
SCALE_TYPES = {QuestionType.NPS, QuestionType.CSAT, QuestionType.CES, QuestionType.SMILEY, QuestionType.RATING}
CHOICE_TYPES = {QuestionType.SINGLE_CHOICE, QuestionType.MULTI_CHOICE}


# --- validation ---------------------------------------------------------------------------------

def _is_empty(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip()) or (isinstance(value, list | tuple) and not value)


def _clean_one(question: Question, value):
    """The stored form of one non-empty answer, or ValidationError (code: invalid / too_long)."""
    if question.type in SCALE_TYPES:
        if isinstance(value, bool):
            raise ValidationError("Not a score.", code="invalid")
        try:
            number = int(str(value).strip()) if not isinstance(value, int) else value
        except ValueError:
            raise ValidationError("Not a score.", code="invalid") from None
        low, high = question_scale(question)
        if not low <= number <= high:
            raise ValidationError(f"Choose a score from {low} to {high}.", code="invalid")
        return number
    if question.type == QuestionType.SINGLE_CHOICE:
        if isinstance(value, list | tuple) and len(value) == 1:
            value = value[0]
        if not isinstance(value, str | int) or str(value) not in question_choice_values(question):
            raise ValidationError("Choose one of the options.", code="invalid")
        return str(value)
    if question.type == QuestionType.MULTI_CHOICE:
        values = [value] if isinstance(value, str) else value
        if not isinstance(values, list | tuple) or not all(isinstance(v, str | int) for v in values):
            raise ValidationError("Choose among the options.", code="invalid")
        allowed = question_choice_values(question)
        chosen = list(dict.fromkeys(str(v) for v in values))
        if any(v not in allowed for v in chosen):
            raise ValidationError("Choose among the options.", code="invalid")
        return sorted(chosen, key=allowed.index)
    if question.type == QuestionType.TEXT:
        if not isinstance(value, str):
            raise ValidationError("Not a text.", code="invalid")
        text = value.strip()
        if len(text) > TEXT_MAX:
            raise ValidationError(f"At most {TEXT_MAX} characters.", code="too_long")
        return text
    raise ValidationError("This question cannot be answered.", code="invalid")  # pragma: no cover - types are closed


def _clean_each(questions: list[Question], answers: dict) -> tuple[dict, dict[str, list[ValidationError]]]:
    """The non-empty answers cleaned one by one: ({key: cleaned value}, {key: [errors]})."""
    cleaned: dict[str, object] = {}
    errors: dict[str, list[ValidationError]] = {}
    for question in questions:
        value = answers.get(question.key)
        if _is_empty(value):
            continue
        try:
            cleaned[question.key] = _clean_one(question, value)
        except ValidationError as exc:
            errors.setdefault(question.key, []).append(exc)
    return cleaned, errors


def answers_clean_lenient(questions: list[Question], answers: dict) -> dict[str, object]:
    """{key: cleaned value} of the non-empty answers that are valid, the others left out: what the page flow reads
    to decide the next page (the submission validates everything again, `answers_validate`)."""
    return _clean_each(questions, answers)[0]


def answers_validate(questions: list[Question], answers: dict, *, partial: bool = False) -> dict[str, object]:
    """{key: cleaned value} for the non-empty answers to the questions shown, or ValidationError keyed by question key.

    The version's logic applies (apps/surveys/logic.py): a question whose rule does not hold on the earlier answers
    is not shown, so it is never required and an answer to it is dropped (a form may still carry one when the
    respondent went back and changed an earlier answer). `partial`: required questions may be left out (a score
    clicked in the e-mail, alone)."""
    by_key = {q.key: q for q in questions}
    cleaned, errors = _clean_each(questions, answers)
    for key in answers:
        if key not in by_key:
            errors.setdefault(key, []).append(ValidationError("No such question in this survey.", code="unknown"))
    shown = Flow(questions).shown(cleaned)
    shown_keys = {q.key for q in shown}
    errors = {key: found for key, found in errors.items() if key in shown_keys or key not in by_key}
    if not partial:
        for question in shown:
            if question.required and question.key not in cleaned and question.key not in errors:
                errors[question.key] = [ValidationError("Please answer this question.", code="required")]
    if errors:
        raise ValidationError(errors)
    return {key: value for key, value in cleaned.items() if key in shown_keys}


def score_question(questions: list[Question]) -> Question | None:
    """The question a score clicked in the invitation e-mail answers: the first scored one (the e-mail's buttons
    show its scale)."""
    return next((q for q in questions if q.type in SCALE_TYPES), None)


# --- attribution --------------------------------------------------------------------------------

def _stage_of_touchpoint(touchpoint_id) -> int | None:
    """The stage a touchpoint is placed on, if it is placed on exactly one."""
    if touchpoint_id is None:
        return None
    stage_ids = list(StageTouchpoint.objects.filter(touchpoint_id=touchpoint_id).values_list("stage_id", flat=True).distinct()[:2])
    return stage_ids[0] if len(stage_ids) == 1 else None


def _attribution(*, survey, invitation: Invitation | None, kiosk: KioskDevice | None) -> dict:
    client_id = contact_id = interaction_id = staff_id = touchpoint_id = predicted = None
    if invitation is not None:
        client_id, contact_id, interaction_id = invitation.client_id, invitation.contact_id, invitation.interaction_id
        interaction = invitation.interaction if interaction_id else None
        if interaction is not None:
            touchpoint_id, staff_id, predicted = interaction.touchpoint_id, interaction.staff_id, interaction.predicted_score
            client_id = client_id or interaction.client_id
            contact_id = contact_id or interaction.contact_id
        if contact_id and not client_id and invitation.contact is not None:
            client_id = invitation.contact.client_id
    if kiosk is not None:
        touchpoint_id = kiosk.touchpoint_id
    touchpoint_id = touchpoint_id or survey.touchpoint_id
    stage_id = survey.stage_id or _stage_of_touchpoint(touchpoint_id)
    segment_id = None
    if client_id:
        from apps.clients.models import Client

        segment_id = Client.objects.filter(pk=client_id).values_list("segment_id", flat=True).first()
    journey_id = Stage.objects.filter(pk=stage_id).values_list("journey_id", flat=True).first() if stage_id else None
    return {"client_id": client_id, "contact_id": contact_id, "interaction_id": interaction_id, "staff_id": staff_id,
            "touchpoint_id": touchpoint_id, "stage_id": stage_id, "journey_id": journey_id, "segment_id": segment_id,
            "predicted": predicted}


def response_scores(survey, questions: list[Question], cleaned: dict) -> dict:
    scores: dict[str, object] = {"comment": ""}
    for question in questions:
        if question.key not in cleaned:
            continue
        field = SCORED_FIELDS.get(question.type)
        if field == "nps" and survey.kind == SurveyKind.ENPS:
            field = "enps"  # eNPS is not customer NPS (module docstring)
        if field and field not in scores:
            scores[field] = cleaned[question.key]
        if question.type == QuestionType.TEXT and not scores["comment"] and cleaned[question.key]:
            scores["comment"] = cleaned[question.key]
    return scores


# --- the service --------------------------------------------------------------------------------

SCORE_COLUMNS = ("nps", "csat", "ces", "smiley", "enps")


def _rewrite(response: Response, *, tenant: Tenant, survey, questions: list[Question], cleaned: dict, score_only: bool) -> None:
    """Replace the answers of a response recorded from an e-mail click (`score_only`): a new click changes its
    score, the submitted form completes it. Its day, attribution and submission time stay (it counted from the click);
    the metrics recount its day if a score changed (`response_changed`)."""
    before = {name: getattr(response, name) for name in (*SCORE_COLUMNS, "comment")}
    scores = response_scores(survey, questions, cleaned)
    for name in (*SCORE_COLUMNS, "comment"):
        setattr(response, name, scores.get(name, "" if name == "comment" else None))
    response.score_only = score_only
    if response.comment != before["comment"]:
        response.comment_language, response.comment_sentiment, response.comment_analyser = "", None, 0
    response.full_clean(validate_unique=False, validate_constraints=False)
    response.save(update_fields=[*SCORE_COLUMNS, "comment", "comment_language", "comment_sentiment", "comment_analyser",
                                 "score_only"])
    Answer.objects.filter(response=response).delete()
    Answer.objects.bulk_create([Answer(tenant=tenant, response=response, question=q, value=cleaned[q.key])
                                for q in questions if q.key in cleaned])
    scores_changed = any(getattr(response, name) != before[name] for name in SCORE_COLUMNS)
    response_changed.send(sender=Response, tenant=tenant, response=response, scores_changed=scores_changed)
    if response.comment and response.comment != before["comment"]:
        from apps.surveys.tasks import analyse_response_comment

        enqueue_on_commit(analyse_response_comment, tenant.pk, response.pk)


def _existing(*, invitation: Invitation | None, survey, submission_key: str) -> Response | None:
    if invitation is not None:
        found = Response.objects.filter(invitation=invitation).first()
        if found is not None:
            return found
    if submission_key:
        return Response.objects.filter(survey=survey, submission_key=submission_key).first()
    return None


@transaction.atomic
def response_submit(*, tenant: Tenant, version: SurveyVersion, answers: dict, channel: str, language: str,
                    invitation: Invitation | None = None, kiosk: KioskDevice | None = None, submission_key: str = "",
                    submitted_at: datetime | None = None, is_bot: bool = False, bot_reason: str = "",
                    score_only: bool = False) -> tuple[Response, bool]:
    """Store one response to `version` (answers keyed by question key); (response, stored): whether this call
    stored the answers.

    A second submit for the same invitation (or the same `submission_key`) returns the first
    response with stored=False and changes nothing — except while that response holds only the score clicked in
    the e-mail (`score_only`, below): then the form completes it, and another click changes its score.
    Raises ValidationError (keyed by question key) for invalid answers; nothing is stored then.

    `score_only` (an invitation's link only): the score clicked in the invitation e-mail, posted by the landing
    page (never by a GET: link scanners open links). It is a response like any other from that moment — counted
    in the rollups of its day, seen by alert rules and webhooks (`response_created`) — METRICS.md's "a response
    counts once submitted" applies to the click as the submission of that one answer. The respondent may then
    change the score or submit the whole form until the link expires: the same row is rewritten (its day and
    submission time stay), the rollups recount its day if a score changed, the alert rules look again (a case is
    opened once per rule and response) and no second `response.created` is sent."""
    survey = version.survey
    if version.tenant_id != tenant.pk or (invitation is not None and invitation.tenant_id != tenant.pk) or (
            kiosk is not None and kiosk.tenant_id != tenant.pk):
        raise ValidationError("The version, invitation and kiosk must belong to the tenant.")
    if channel not in Response.Channel.values:
        raise ValidationError({"channel": f"Unknown channel {channel!r}."})
    if score_only and invitation is None:
        raise ValidationError("Only an invitation's link records a clicked score.")
    questions = list(Question.objects.filter(version=version).order_by("order"))
    cleaned = answers_validate(questions, answers or {}, partial=score_only)
    if score_only:
        clicked = score_question(questions)
        if clicked is None or set(cleaned) != {clicked.key}:
            raise ValidationError("A clicked score answers the survey's first scored question, alone.")

    if invitation is not None:
        # Concurrent submits of one link queue here; the later ones find the first response below.
        invitation = Invitation.objects.select_for_update(of=("self",)).select_related("interaction", "contact").get(pk=invitation.pk)
    existing = _existing(invitation=invitation, survey=survey, submission_key=submission_key)
    if existing is not None:
        if not existing.score_only:
            return existing, False
        if score_only and response_answers(existing) == cleaned:
            return existing, False  # the same click again
        _rewrite(existing, tenant=tenant, survey=survey, questions=questions, cleaned=cleaned, score_only=score_only)
        return existing, True

    submitted_at = submitted_at or timezone.now()
    response = Response(
        tenant=tenant, survey=survey, version=version, invitation=invitation, kiosk=kiosk, channel=channel,
        language=language, submitted_at=submitted_at, local_day=local_day(tenant.time_zone, submitted_at),
        submission_key=submission_key[:64], is_bot=is_bot, bot_reason=bot_reason[:120], score_only=score_only,
        attributes=dict(invitation.attributes or {}) if invitation is not None else {},
        **_attribution(survey=survey, invitation=invitation, kiosk=kiosk),
        **response_scores(survey, questions, cleaned),
    )
    response.full_clean(validate_unique=False, validate_constraints=False)
    try:
        with transaction.atomic():
            response.save()
            Answer.objects.bulk_create([Answer(tenant=tenant, response=response, question=q, value=cleaned[q.key])
                                        for q in questions if q.key in cleaned])
    except IntegrityError:
        existing = _existing(invitation=invitation, survey=survey, submission_key=submission_key)
        if existing is None:
            raise
        return existing, False

    # Metrics (its rollups, on commit), alert rules and webhooks listen.
    response_created.send(sender=Response, tenant=tenant, response=response)
    if response.comment:
        from apps.surveys.tasks import analyse_response_comment

        enqueue_on_commit(analyse_response_comment, tenant.pk, response.pk)
    if invitation is not None:
        invitation.status = Invitation.Status.RESPONDED
        invitation.responded_at = submitted_at
        invitation.opened_at = invitation.opened_at or submitted_at
        invitation.save(update_fields=["status", "responded_at", "opened_at", "updated_at"])
    return response, True


def invitation_mark_opened(*, invitation: Invitation, now: datetime | None = None) -> None:
    """The link was opened: set opened_at once, and move a queued/sent invitation to opened.
    Idempotent (mail scanners open links too; nothing else changes and the token stays usable)."""
    now = now or timezone.now()
    opened = (Invitation.Status.QUEUED, Invitation.Status.SENT)
    changed = Invitation.objects.filter(pk=invitation.pk, opened_at__isnull=True, status__in=opened).update(
        opened_at=now, status=Invitation.Status.OPENED, updated_at=now)
    changed += Invitation.objects.filter(pk=invitation.pk, opened_at__isnull=True).update(opened_at=now, updated_at=now)
    if changed:
        due_note(invitation.tenant_id, INVITATIONS_CHANGED)  # the funnel's catch-up counts the open
