"""Reads for the respondent pages. The three `*_including_cross_tenant` functions are the only way a
respondent's secret (a link's token, a kiosk's key, a public web token) finds its tenant: through
the narrow RLS lookup policies of migration 0002, before any tenant is active. Everything after runs
inside `tenant_context(row.tenant)`.
"""

from __future__ import annotations

import enum
import hashlib
import re
from datetime import datetime

from django.db.models import QuerySet

from apps.surveys.models import Answer, Invitation, KioskDevice, Question, Response, Survey, SurveyVersion
from apps.tenancy.context import rows_by_key_including_cross_tenant

# base64url, as secrets.token_urlsafe makes them; anything else is refused before touching the database.
_TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{16,100}$")


def secret_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def _well_formed(raw: str) -> bool:
    return isinstance(raw, str) and bool(_TOKEN_RE.match(raw))


def invitation_get_by_token_including_cross_tenant(raw_token: str) -> Invitation | None:
    """The invitation a link's token denotes (any tenant, any state), or None. Only the token's
    SHA-256 is compared; the caller decides whether the invitation can still be answered."""
    if not _well_formed(raw_token):
        return None
    rows = rows_by_key_including_cross_tenant(Invitation, "token_hash", secret_hash(raw_token))
    invitation = rows[0] if len(rows) == 1 else None
    if invitation is None or not invitation.tenant.is_active:
        return None
    return invitation


def kiosk_get_by_key_including_cross_tenant(raw_key: str) -> KioskDevice | None:
    """The active (not revoked) kiosk device a key denotes, or None."""
    if not _well_formed(raw_key):
        return None
    rows = rows_by_key_including_cross_tenant(KioskDevice, "key_hash", secret_hash(raw_key))
    device = rows[0] if len(rows) == 1 else None
    if device is None or device.revoked_at is not None or not device.tenant.is_active:
        return None
    return device


def survey_get_by_web_token_including_cross_tenant(web_token: str) -> Survey | None:
    """The survey whose public web link this is, if that link is enabled, or None."""
    if not isinstance(web_token, str) or not re.match(r"^[A-Za-z0-9_-]{8,32}$", web_token):
        return None
    rows = rows_by_key_including_cross_tenant(Survey, "web_token", web_token)
    survey = rows[0] if len(rows) == 1 else None
    if survey is None or not survey.web_link_enabled or not survey.tenant.is_active:
        return None
    return survey


class LinkState(enum.StrEnum):
    OPEN = "open"
    USED = "used"  # already answered: "already recorded"
    EXPIRED = "expired"
    CLOSED = "closed"  # survey paused/closed/not open, or no published version


def survey_is_open_now(survey: Survey, now: datetime) -> bool:
    """The builder's rule (live, a published version, within opens/closes)."""
    try:
        from apps.surveys.builder.selectors import survey_is_open
    except ImportError:  # pragma: no cover - the builder's selector is the reference
        survey_is_open = None
    if survey_is_open is not None:
        return survey_is_open(survey, now)
    return (survey.status == Survey.Status.LIVE and survey.current_version_id is not None  # pragma: no cover
            and (survey.opens_at is None or survey.opens_at <= now) and (survey.closes_at is None or now < survey.closes_at))


def invitation_version(invitation: Invitation) -> SurveyVersion | None:
    """The version the invitation pins (else the survey's current one), if published."""
    version = invitation.version or invitation.survey.current_version
    return version if version is not None and version.is_published else None


def invitation_state(invitation: Invitation, now: datetime) -> LinkState:
    """Whether the link can be answered now, and if not, why (the page shows one generic message)."""
    responded = invitation.status == Invitation.Status.RESPONDED or invitation.responded_at is not None
    if responded and score_only_response(invitation) is None:
        return LinkState.USED
    # Not answered, or only the score clicked in the e-mail: open until the link expires or the survey closes.
    if invitation.status in (Invitation.Status.EXPIRED, Invitation.Status.SKIPPED):
        return LinkState.USED if responded else LinkState.EXPIRED
    if invitation.expires_at is not None and invitation.expires_at <= now:
        return LinkState.USED if responded else LinkState.EXPIRED
    if not survey_is_open_now(invitation.survey, now) or invitation_version(invitation) is None:
        return LinkState.USED if responded else LinkState.CLOSED
    return LinkState.OPEN


def score_only_response(invitation: Invitation) -> Response | None:
    """The invitation's response while it holds only the score clicked in the e-mail (the form not submitted yet)."""
    return Response.objects.filter(invitation=invitation, score_only=True).first()


def response_answers(response: Response) -> dict:
    """{question key: stored value} of a response (to show a recorded score on the form again)."""
    return dict(Answer.objects.filter(response=response).values_list("question__key", "value"))


def invitation_for_respondent(pk: int) -> Invitation:
    """The invitation with what the respondent page needs, in the active tenant."""
    return Invitation.objects.select_related("survey", "survey__current_version", "survey__touchpoint", "version", "tenant",
                                             "contact", "client__segment", "interaction__touchpoint").get(pk=pk)


def version_questions(version: SurveyVersion) -> list[Question]:
    return list(Question.objects.filter(version=version).order_by("order"))


def responses_counted() -> QuerySet[Response]:
    """Responses that count in metrics, lists and exports: bot-flagged ones are kept apart."""
    return Response.objects.filter(is_bot=False)


def responses_flagged_as_bots() -> QuerySet[Response]:
    return Response.objects.filter(is_bot=True)
