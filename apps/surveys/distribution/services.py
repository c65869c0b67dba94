"""Distribution: who is asked, when, and why not (issue 5 items 6–10; DESIGN.md flow 1).

Invitations are made by three triggers — a manual send to a segment or chosen contacts, an
interaction at the survey's touchpoint (after a delay), a recurring relationship survey — always
through `invitation_create`, which applies the rules in order and records on a SKIPPED invitation
why it is not sent (the send log): survey not open, client churned, contact opted out, no e-mail,
fatigue (the contact was sent any survey within the tenant's fatigue period), an open invitation of
the same survey (duplicate). A retried trigger finds its `dedupe_key` and returns the first
invitation: a retry never duplicates.

Tokens. A link's token must reach the contact twice (the invitation and its reminders use the same
link) but must never be readable from the database. So the token is derived, not stored:

    salt  = secrets.token_urlsafe(32)            (stored on the invitation, 256 random bits)
    token = HMAC-SHA256(SECRET_KEY, uuid : salt)  (base64url, 43 characters, 256 bits)
    token_hash = sha256(token)                    (stored, unique: the respondent's lookup)

The worker rebuilds the token from the salt when it writes the e-mail, and the outbox row holds the
body with a placeholder instead of the token (`TOKEN_PLACEHOLDER`), substituted only at SMTP time:
the raw token exists only in the message sent. The database alone (salt, hash, bodies) without
SECRET_KEY reveals nothing. If SECRET_KEY is rotated, rebuilt tokens no longer match their hash:
pending e-mails then fail with that reason instead of carrying a dead link.

Sending happens in two steps, each in its own transaction: `invitations_dispatch_due` picks due
QUEUED invitations (`select_for_update(skip_locked=True)`), re-checks the rules at send time, mints
the salt and hash and writes the OutboundEmail in the same transaction; the outbox
(apps/messaging) delivers it over SMTP and distribution/delivery.py marks the invitation sent.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import uuid as uuid_lib
from datetime import datetime, timedelta

from dateutil.relativedelta import relativedelta
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Exists, Min, OuterRef
from django.utils import timezone
from django.utils.crypto import salted_hmac

from apps.clients.models import Client, Contact
from apps.core.site import site_url
from apps.messaging.models import OutboundEmail
from apps.surveys.attributes import invitation_attributes, known_tokens, unknown_tokens
from apps.surveys.builder.selectors import survey_is_open, version_languages
from apps.surveys.distribution import emails
from apps.surveys.models import (
    DISPATCH_DUE,
    EXPIRY_DUE,
    INVITATIONS_CHANGED,
    REMINDERS_DUE,
    Invitation,
    Response,
    Survey,
    SurveyVersion,
)
from apps.tenancy.due import due_note, due_settle, due_version
from apps.tenancy.models import Membership, Tenant
from apps.tenancy.services import audit_event_record
from apps.tenancy.tasks import enqueue_on_commit
from apps.touchpoints.models import Interaction

TOKEN_PLACEHOLDER = "__cxm_invitation_token__"
TOKEN_KEY_SALT = "cxm.surveys.invitation-token"
DISPATCH_BATCH = 500
OPEN_STATUSES = (Invitation.Status.QUEUED, Invitation.Status.SENT, Invitation.Status.OPENED)
Status, Skip = Invitation.Status, Invitation.SkipReason


# --- tokens and links ---------------------------------------------------------------------------

def token_hash(raw_token: str) -> str:
    return hashlib.sha256(raw_token.encode()).hexdigest()


def invitation_token(invitation: Invitation) -> str:
    """The link's token, rebuilt from the invitation's salt with SECRET_KEY (see the module docstring)."""
    if not invitation.token_salt:
        raise ValueError("This invitation has no token yet: it was never sent.")
    digest = salted_hmac(TOKEN_KEY_SALT, f"{invitation.uuid}:{invitation.token_salt}", algorithm="sha256").digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def invitation_url(raw_token: str, *, score: int | None = None) -> str:
    """The respondent's link: SITE_URL/s/<token>/, with ?score=N for a score clicked in the e-mail."""
    url = f"{site_url()}/s/{raw_token}/"
    return url if score is None else f"{url}?score={int(score)}"


def optout_url(raw_token: str) -> str:
    return f"{site_url()}/s/{raw_token}/opt-out/"


def message_domain() -> str:
    """The right-hand side of our Message-IDs: the default sender's domain."""
    from email.utils import parseaddr

    address = parseaddr(settings.DEFAULT_FROM_EMAIL)[1]
    return address.rpartition("@")[2] or "cxm.localhost"


# --- the rules ----------------------------------------------------------------------------------

def survey_accepts_invitations(survey: Survey, now: datetime) -> bool:
    """Live, with a published version, within its open/close dates (the builder's `survey_is_open`)."""
    return survey_is_open(survey, now)


def _client_churned(client: Client | None, now: datetime) -> bool:
    if client is None:
        return False
    return client.status == Client.Status.CHURNED or (client.churned_on is not None and client.churned_on <= now.date())


def _fatigued(*, tenant: Tenant, contact: Contact, now: datetime, exclude_pk=None) -> bool:
    """Was the contact sent any survey invitation within the tenant's fatigue period? (0 days: never.)
    An invitation counts from the moment its e-mail is written to the outbox (its `sent_at`)."""
    days = tenant.survey_fatigue_days
    if not days:
        return False
    recent = Invitation.objects.filter(contact=contact, sent_at__gt=now - timedelta(days=days)).exclude(
        status__in=[Status.FAILED, Status.SKIPPED, Status.BOUNCED])
    if exclude_pk is not None:
        recent = recent.exclude(pk=exclude_pk)
    return recent.exists()


# What rendering an invitation's e-mail reads (its {{tokens}} included), loaded with it: no query per e-mail.
RENDER_RELATED = ("survey__touchpoint", "version", "contact", "client__segment", "interaction__touchpoint")


def _first_rule(*, client: Client | None, contact: Contact | None, now: datetime, fatigued, duplicate) -> str:
    """The rules after the survey's own, in their order: churned client, opted out, no e-mail address, the fatigue
    rule (`fatigued()`), an open invitation to the same survey (`duplicate()`). The two callables are asked only
    when the rules before them pass: one by one they are queries, in bulk set lookups."""
    if _client_churned(client, now):
        return Skip.CHURNED
    if contact is not None and contact.opted_out:
        return Skip.OPTED_OUT
    if contact is None or not contact.email:
        return Skip.NO_EMAIL
    if fatigued():
        return Skip.FATIGUED
    if duplicate():
        return Skip.DUPLICATE
    return ""


def skip_reason(*, tenant: Tenant, survey: Survey, contact: Contact | None, client: Client | None, now: datetime,
                exclude_pk=None, at_send: bool = False, ignore_fatigue: bool = False) -> str:
    """The first rule that stops this invitation, or "" when it may go. At send time the duplicate rule
    is not applied again (it was, at creation; the invitation being sent is the one that won).
    `ignore_fatigue`: a recovery survey (source RECOVERY, sent when a case is resolved) answers the
    contact's own complaint, so the fatigue rule does not hold it back; opt-out still does."""
    if not survey_accepts_invitations(survey, now):
        return Skip.SURVEY_CLOSED

    def duplicate() -> bool:
        if at_send:
            return False
        open_same = Invitation.objects.filter(survey=survey, contact=contact, status__in=OPEN_STATUSES, expires_at__gt=now)
        return (open_same.exclude(pk=exclude_pk) if exclude_pk is not None else open_same).exists()

    return _first_rule(client=client, contact=contact, now=now, duplicate=duplicate,
                       fatigued=lambda: not ignore_fatigue and _fatigued(tenant=tenant, contact=contact, now=now, exclude_pk=exclude_pk))


def skip_reasons_bulk(*, tenant: Tenant, survey: Survey, contacts: list[Contact], now: datetime) -> dict[int, str]:
    """`skip_reason` for many contacts at once — the same rules (`_first_rule`) in three queries however many
    contacts (the send page's audience count before anything is sent): {contact id: reason, or ""}. Contacts
    need their client loaded."""
    if not contacts:
        return {}
    if not survey_accepts_invitations(survey, now):
        return {c.pk: Skip.SURVEY_CLOSED for c in contacts}
    ids = [c.pk for c in contacts]
    fatigued: set[int] = set()
    if tenant.survey_fatigue_days:
        fatigued = set(Invitation.objects.filter(contact_id__in=ids, sent_at__gt=now - timedelta(days=tenant.survey_fatigue_days))
                       .exclude(status__in=[Status.FAILED, Status.SKIPPED, Status.BOUNCED]).values_list("contact_id", flat=True))
    open_same = set(Invitation.objects.filter(survey=survey, contact_id__in=ids, status__in=OPEN_STATUSES, expires_at__gt=now)
                    .values_list("contact_id", flat=True))
    return {c.pk: _first_rule(client=c.client, contact=c, now=now, fatigued=lambda pk=c.pk: pk in fatigued,
                              duplicate=lambda pk=c.pk: pk in open_same) for c in contacts}


def invitation_language(survey: Survey, contact: Contact | None) -> str:
    """The contact's locale when the live version speaks it, else the survey's default language."""
    offered = version_languages(survey, survey.current_version) if survey.current_version_id else [survey.default_language]
    if contact is not None and contact.locale in offered:
        return contact.locale
    return survey.default_language


# --- creating invitations -----------------------------------------------------------------------

@transaction.atomic
def invitation_create(*, tenant: Tenant, survey: Survey, contact: Contact | None, source: str, dedupe_key: str,
                      interaction: Interaction | None = None, send_after: datetime | None = None,
                      acting_member: Membership | None = None, dispatch: bool = True) -> Invitation:
    """Make one invitation, or the SKIPPED one that says why it is not sent (the send log).

    The same `dedupe_key` for the same survey returns the first invitation unchanged (a retried
    trigger never duplicates; the database's unique key settles a race). Pins the survey's current
    version and the language; expires `invitation_valid_days` after it may be sent. With
    `dispatch`, a due invitation is handed to the sender once this transaction commits.
    """
    existing = Invitation.objects.filter(survey=survey, dedupe_key=dedupe_key).first()
    if existing is not None:
        return existing
    now = timezone.now()
    send_after = send_after or now
    client = contact.client if contact is not None else (interaction.client if interaction is not None else None)
    reason = skip_reason(tenant=tenant, survey=survey, contact=contact, client=client, now=now,
                         ignore_fatigue=source == Invitation.Source.RECOVERY)
    invitation = Invitation(
        tenant=tenant, survey=survey, version=survey.current_version, contact=contact, client=client, interaction=interaction,
        source=source, language=invitation_language(survey, contact), email=(contact.email if contact is not None else ""),
        dedupe_key=dedupe_key, status=Status.SKIPPED if reason else Status.QUEUED, skip_reason=reason,
        send_after=send_after, expires_at=max(send_after, now) + timedelta(days=survey.invitation_valid_days),
        created_by=acting_member, attributes=invitation_attributes(client=client, contact=contact),
    )
    # Uniqueness is the database's job here (a concurrent retry loses the race below, not a query).
    invitation.full_clean(validate_unique=False, validate_constraints=False)
    try:
        with transaction.atomic():
            invitation.save()
    except IntegrityError:
        return Invitation.objects.get(survey=survey, dedupe_key=dedupe_key)
    if dispatch and invitation.status == Status.QUEUED and send_after <= now:
        from apps.surveys.tasks import dispatch_invitations

        enqueue_on_commit(dispatch_invitations, tenant.pk, invitation.pk)
    return invitation


def _first_reachable_contact(client: Client) -> Contact | None:
    return Contact.objects.filter(client=client, opted_out=False).exclude(email="").order_by("created_at", "pk").first()


def surveys_listening_to(touchpoint):
    """Surveys triggered by an interaction at `touchpoint`: live ones, and paused ones (their
    invitations are recorded as skipped, so the send log explains the silence)."""
    return Survey.objects.filter(trigger=Survey.Trigger.AFTER_INTERACTION, touchpoint=touchpoint,
                                 status__in=[Survey.Status.LIVE, Survey.Status.PAUSED])


@transaction.atomic
def invitations_for_interaction(*, tenant: Tenant, interaction_id: int) -> list[Invitation]:
    """The after-interaction trigger: one invitation per live (or paused: recorded as skipped) survey
    listening to the interaction's touchpoint, sent `trigger_delay_minutes` after it happened, to
    the interaction's contact or else the client's first contact who can be e-mailed."""
    interaction = Interaction.objects.select_related("client", "contact", "touchpoint").filter(pk=interaction_id).first()
    if interaction is None:
        return []
    surveys = surveys_listening_to(interaction.touchpoint).select_related("current_version")
    made = []
    for survey in surveys:
        contact = interaction.contact or _first_reachable_contact(interaction.client)
        made.append(invitation_create(
            tenant=tenant, survey=survey, contact=contact, source=Invitation.Source.INTERACTION, interaction=interaction,
            dedupe_key=f"interaction:{interaction.uuid}",
            send_after=interaction.occurred_at + timedelta(minutes=survey.trigger_delay_minutes),
        ))
    return made


@transaction.atomic
def invitations_create_recurring(*, tenant: Tenant, now: datetime | None = None) -> int:
    """The recurring relationship survey: every contact of an active client (of the survey's segment)
    not invited by this survey in the last `recurring_months` months gets one invitation this period."""
    now = now or timezone.now()
    started = timezone.now()
    made = 0
    for survey in Survey.objects.filter(trigger=Survey.Trigger.RECURRING, status=Survey.Status.LIVE).select_related("current_version"):
        if not survey.recurring_months or not survey_accepts_invitations(survey, now):
            continue
        cutoff = now - relativedelta(months=survey.recurring_months)
        asked = Invitation.objects.filter(survey=survey, contact=OuterRef("pk"), created_at__gt=cutoff)
        contacts = Contact.objects.filter(client__status=Client.Status.ACTIVE).exclude(Exists(asked)).select_related("client")
        if survey.recurring_segment_id:
            contacts = contacts.filter(client__segment_id=survey.recurring_segment_id)
        period = now.strftime("%Y-%m")
        for contact in contacts.order_by("pk"):
            invitation = invitation_create(tenant=tenant, survey=survey, contact=contact, source=Invitation.Source.RECURRING,
                                           dedupe_key=f"recurring:{period}:{contact.uuid}", send_after=now, dispatch=False)
            made += invitation.created_at >= started  # not one found by its dedupe key
    if made:
        from apps.surveys.tasks import dispatch_invitations

        enqueue_on_commit(dispatch_invitations, tenant.pk)
    return made


# --- sending ------------------------------------------------------------------------------------

def _invitation_message_id(invitation: Invitation) -> str:
    return f"<invitation-{invitation.uuid}@{message_domain()}>"


def _reminder_message_id(invitation: Invitation, number: int) -> str:
    return f"<reminder-{number}-{invitation.uuid}@{message_domain()}>"


@transaction.atomic
def invitations_dispatch_due(*, tenant: Tenant, invitation_id: int | None = None, now: datetime | None = None,
                             limit: int = DISPATCH_BATCH) -> int:
    """Write the e-mails of due QUEUED invitations to the outbox; returns how many were written.

    Rows are claimed with `select_for_update(skip_locked=True)`, so two workers never write the same
    invitation; the rules are checked again (opted out since? fatigued? survey closed?); the salt and
    token hash are minted and the outbox row written in this one transaction, so an invitation is
    either untouched or has exactly one token and one e-mail.
    """
    from apps.messaging.services import email_enqueue

    now = now or timezone.now()
    # The beat's wake-up (apps/tenancy/due.py) is settled only by a run over every due invitation, not one.
    version = due_version(tenant.pk, DISPATCH_DUE) if invitation_id is None else None
    due = (Invitation.objects.select_for_update(skip_locked=True, of=("self",))
           .select_related(*RENDER_RELATED)
           .filter(status=Status.QUEUED, token_hash="", send_after__lte=now).order_by("send_after", "pk"))
    if invitation_id is not None:
        due = due.filter(pk=invitation_id)
    written = handled = 0
    for invitation in due[:limit]:
        handled += 1
        reason = skip_reason(tenant=tenant, survey=invitation.survey, contact=invitation.contact, client=invitation.client,
                             now=now, exclude_pk=invitation.pk, at_send=True,
                             ignore_fatigue=invitation.source == Invitation.Source.RECOVERY)
        if not reason and invitation.version_id is None:
            reason = Skip.SURVEY_CLOSED
        if reason:
            invitation.status, invitation.skip_reason = Status.SKIPPED, reason
            invitation.save(update_fields=["status", "skip_reason", "updated_at"])
            continue
        invitation.token_salt = secrets.token_urlsafe(32)
        invitation.token_hash = token_hash(invitation_token(invitation))
        invitation.sent_at = now  # fatigue counts from here; the outbox sets the delivery time
        invitation.save(update_fields=["token_salt", "token_hash", "sent_at", "updated_at"])
        if invitation.survey.reminder_count:
            due_note(tenant.pk, REMINDERS_DUE, now + timedelta(days=invitation.survey.reminder_interval_days))
        rendered = emails.render_survey_email(tenant=tenant, invitation=invitation, kind=OutboundEmail.Kind.INVITATION)
        email_enqueue(tenant=tenant, kind=OutboundEmail.Kind.INVITATION, invitation=invitation, to_email=invitation.email,
                      subject=rendered.subject, body_text=rendered.text, body_html=rendered.html,
                      message_id=_invitation_message_id(invitation), deliver=False)
        written += 1
    if written:
        from apps.messaging.tasks import deliver_outbox

        enqueue_on_commit(deliver_outbox, tenant.pk)
    if invitation_id is None:
        due_settle(tenant.pk, DISPATCH_DUE, version, invitations_next_due(now=now, handled=handled, limit=limit))
    return written


def invitations_next_due(*, now: datetime, handled: int, limit: int) -> datetime | None:
    """When queued invitations next need the dispatcher: now when a run stopped at its limit, else the earliest
    queued one's time (one held by another worker counts: it is due again if that worker gives it up)."""
    if handled >= limit:
        return now
    return (Invitation.objects.filter(status=Status.QUEUED, token_hash="")
            .aggregate(t=Min("send_after"))["t"])


def _reminder_due(invitation: Invitation, now: datetime) -> bool:
    last = invitation.last_reminder_at or invitation.sent_at
    return last is not None and last <= now - timedelta(days=invitation.survey.reminder_interval_days)


def _reminder_time(invitation: Invitation) -> datetime:
    return (invitation.last_reminder_at or invitation.sent_at) + timedelta(days=invitation.survey.reminder_interval_days)


@transaction.atomic
def reminders_send_due(*, tenant: Tenant, now: datetime | None = None, limit: int = DISPATCH_BATCH) -> int:
    """Remind those who have not answered: up to the survey's `reminder_count`, every
    `reminder_interval_days`, with the same link. Checked again under the row lock, in the
    transaction that writes the outbox row: a response that has arrived stops the reminder."""
    from apps.messaging.services import email_enqueue

    now = now or timezone.now()
    version = due_version(tenant.pk, REMINDERS_DUE)
    candidates = (Invitation.objects.select_related("survey")
                  .filter(status__in=[Status.SENT, Status.OPENED], responded_at__isnull=True, expires_at__gt=now,
                          contact__opted_out=False, survey__status=Survey.Status.LIVE)
                  .exclude(token_hash="").only("pk", "sent_at", "last_reminder_at", "reminders_sent", "survey__reminder_count",
                                               "survey__reminder_interval_days"))
    waiting = [i for i in candidates if i.reminders_sent < i.survey.reminder_count and (i.last_reminder_at or i.sent_at)]
    due = [i for i in waiting if _reminder_due(i, now)][:limit]
    due_ids = [i.pk for i in due]
    # The next look (apps/tenancy/due.py): at once if the limit left due ones, else the first reminder to fall due —
    # a waiting one's, or the next of those sent now (an interval from now).
    next_times = [_reminder_time(i) for i in waiting if not _reminder_due(i, now)]
    next_times += [now + timedelta(days=i.survey.reminder_interval_days) for i in due if i.reminders_sent + 1 < i.survey.reminder_count]
    due_settle(tenant.pk, REMINDERS_DUE, version, now if len(due) >= limit else min(next_times, default=None))
    if not due_ids:
        return 0
    locked = (Invitation.objects.select_for_update(skip_locked=True, of=("self",))
              .select_related(*RENDER_RELATED).filter(pk__in=due_ids).order_by("pk"))
    written = 0
    for invitation in locked:
        answered = invitation.status not in (Status.SENT, Status.OPENED) or invitation.responded_at is not None \
            or Response.objects.filter(invitation=invitation).exists()
        if answered or invitation.contact is None or invitation.contact.opted_out \
                or invitation.reminders_sent >= invitation.survey.reminder_count or not _reminder_due(invitation, now) \
                or not survey_accepts_invitations(invitation.survey, now):
            continue
        number = invitation.reminders_sent + 1
        rendered = emails.render_survey_email(tenant=tenant, invitation=invitation, kind=OutboundEmail.Kind.REMINDER)
        email_enqueue(tenant=tenant, kind=OutboundEmail.Kind.REMINDER, invitation=invitation, to_email=invitation.email,
                      subject=rendered.subject, body_text=rendered.text, body_html=rendered.html,
                      message_id=_reminder_message_id(invitation, number), deliver=False)
        invitation.reminders_sent, invitation.last_reminder_at = number, now
        invitation.save(update_fields=["reminders_sent", "last_reminder_at", "updated_at"])
        written += 1
    if written:
        from apps.messaging.tasks import deliver_outbox

        enqueue_on_commit(deliver_outbox, tenant.pk)
    return written


@transaction.atomic
def invitations_expire(*, tenant: Tenant, now: datetime | None = None) -> int:
    """Invitations past their `expires_at` that were never answered become EXPIRED."""
    now = now or timezone.now()
    version = due_version(tenant.pk, EXPIRY_DUE)
    expired = Invitation.objects.filter(status__in=OPEN_STATUSES, expires_at__lte=now).update(status=Status.EXPIRED, updated_at=now)
    if expired:
        due_note(tenant.pk, INVITATIONS_CHANGED)  # the funnel's catch-up counts them
    due_settle(tenant.pk, EXPIRY_DUE, version, Invitation.objects.filter(status__in=OPEN_STATUSES, expires_at__gt=now)
               .aggregate(t=Min("expires_at"))["t"])
    return expired


# --- opting out ---------------------------------------------------------------------------------

@transaction.atomic
def contact_opt_out(*, tenant: Tenant, invitation: Invitation) -> Contact | None:
    """The contact behind this invitation never gets another survey: flagged opted out, their queued
    invitations skipped (reason: opted out) and their pending e-mails (invitations, reminders) cancelled.
    Idempotent; works for an expired invitation too."""
    contact = Contact.objects.select_for_update().filter(pk=invitation.contact_id).first()
    if contact is None:
        return None
    now = timezone.now()
    if not contact.opted_out:
        contact.opted_out = True
        contact.save(update_fields=["opted_out", "updated_at"])
        audit_event_record(tenant=tenant, acting_user=None, action="contact.opted_out", target=contact,
                           changes={"opted_out": [False, True], "via_survey": [None, invitation.survey.name]})
    if Invitation.objects.filter(contact=contact, status=Status.QUEUED).update(status=Status.SKIPPED, skip_reason=Skip.OPTED_OUT,
                                                                             updated_at=now):
        due_note(tenant.pk, INVITATIONS_CHANGED)
    OutboundEmail.objects.filter(invitation__contact=contact, status=OutboundEmail.Status.PENDING).update(
        status=OutboundEmail.Status.FAILED, last_error="Not sent: the contact opted out.", next_attempt_at=None, updated_at=now)
    return contact


# --- test e-mail --------------------------------------------------------------------------------

def _preview_url(tenant: Tenant, survey: Survey) -> str:
    from django.urls import NoReverseMatch, reverse

    for name in ("surveys:preview", "surveys:edit", "surveys:list"):
        try:
            kwargs = {"tenant_slug": tenant.slug} if name == "surveys:list" else {"tenant_slug": tenant.slug, "uuid": survey.uuid}
            return site_url() + reverse(name, kwargs=kwargs)
        except NoReverseMatch:
            continue
    return site_url() + f"/t/{tenant.slug}/"


@transaction.atomic
@transaction.atomic
def survey_email_texts_update(*, tenant: Tenant, acting_user, survey: Survey, texts) -> Survey:
    """Set the invitation e-mail's own words: {lang: {part: text}} for the survey's languages, the parts those of
    emails.EMAIL_PARTS (at most their length); an empty text means the default. The intros are stored sanitised
    (emails.sanitize_html); {{tokens}} that name nothing are refused. Replaces the languages given; audited."""
    if not isinstance(texts, dict):
        raise ValidationError({"email_texts": "Give the e-mail's words per language: {\"en\": {\"subject\": …}}."})
    languages = survey.languages or [survey.default_language]
    known = known_tokens()
    merged = dict(survey.email_texts or {})
    for lang, parts in texts.items():
        if lang not in languages:
            raise ValidationError({"email_texts": f"“{lang}” is not one of this survey's languages ({', '.join(languages)})."})
        if not isinstance(parts, dict) or set(parts) - set(emails.EMAIL_PARTS):
            raise ValidationError({"email_texts": f"{lang}: the parts are {', '.join(emails.EMAIL_PARTS)}."})
        cleaned = {}
        for part, value in parts.items():
            if not isinstance(value, str):
                raise ValidationError({"email_texts": f"{lang} {part}: give a text."})
            value = emails.sanitize_html(value) if part in emails.HTML_PARTS else " ".join(value.split())
            if len(value) > emails.EMAIL_PARTS[part]:
                raise ValidationError({"email_texts": f"{lang} {part}: at most {emails.EMAIL_PARTS[part]} characters."})
            unknown = unknown_tokens(value, known)
            if unknown:
                raise ValidationError({"email_texts": f"{lang} {part}: {', '.join(unknown)} names nothing; use "
                                                      + ", ".join(f"{{{{{t}}}}}" for t in sorted(known)) + "."})
            if value:
                cleaned[part] = value
        merged[lang] = cleaned
    merged = {lang: parts for lang, parts in merged.items() if parts}
    survey = Survey.objects.select_for_update().get(pk=survey.pk)
    if merged != (survey.email_texts or {}):
        before = ", ".join(sorted(f"{lang}.{part}" for lang, parts in (survey.email_texts or {}).items() for part in parts))
        survey.email_texts = merged
        survey.save(update_fields=["email_texts", "updated_at"])
        after = ", ".join(sorted(f"{lang}.{part}" for lang, parts in merged.items() for part in parts))
        audit_event_record(tenant=tenant, acting_user=acting_user, action="survey.email_texts_updated", target=survey,
                           changes={"email_texts": [before or None, after or None]})
    return survey


def survey_preview_version(survey: Survey) -> SurveyVersion | None:
    """The version a test e-mail or preview shows: the draft if there is one, else the live version."""
    return (SurveyVersion.objects.filter(survey=survey, published_at__isnull=True).first()
            or (SurveyVersion.objects.filter(pk=survey.current_version_id).first() if survey.current_version_id else None))


def test_email_send(*, tenant: Tenant, acting_user, survey: Survey, language: str | None = None, contact=None) -> OutboundEmail:
    """E-mail the survey as a respondent would get it — the draft if there is one, else the live
    version — to the signed-in person's own address, through the outbox. Its links open the preview
    (signed in), never a respondent link: no invitation is made and no answer can be stored. `language` (one of the
    survey's) and `contact` (whose name and attributes fill the greeting and the {{tokens}}) are the preview's."""
    version = survey_preview_version(survey)
    if version is None:
        raise ValidationError("This survey has no version to send yet.")
    if not getattr(acting_user, "email", ""):
        raise ValidationError("Your account has no e-mail address to send the test to.")
    language = language if language in (survey.languages or []) else survey.default_language
    rendered = emails.render_survey_email(tenant=tenant, invitation=None, kind=OutboundEmail.Kind.TEST, survey=survey,
                                          version=version, language=language, preview_url=_preview_url(tenant, survey),
                                          recipient_name=getattr(acting_user, "full_name", "") or "", contact=contact)
    from apps.messaging.services import email_enqueue

    email = email_enqueue(tenant=tenant, kind=OutboundEmail.Kind.TEST, invitation=None, to_email=acting_user.email,
                          subject=rendered.subject, body_text=rendered.text, body_html=rendered.html,
                          message_id=f"<test-{uuid_lib.uuid4()}@{message_domain()}>")
    audit_event_record(tenant=tenant, acting_user=acting_user, action="survey.test_email_sent", target=survey,
                       changes={"version": [None, version.number], "to": [None, acting_user.email]})
    return email
