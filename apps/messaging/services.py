"""The outbox: every e-mail the product sends is a row (OutboundEmail) written in the transaction that
caused it, then delivered over SMTP (Django's e-mail backend) by a Celery task.

Delivery, a small claim at a time (`CLAIM_SIZE` rows per transaction): claim due PENDING rows with
`select_for_update(skip_locked=True)` (two workers never send the same row), send each with its fixed
Message-ID over one SMTP connection, mark each sent, commit. A failure schedules the next attempt with exponential backoff
(`OUTBOX_BACKOFF_SECONDS` × 2^(attempt−1)) up to `OUTBOX_MAX_ATTEMPTS`, then marks the row failed; a
permanent refusal of the address (SMTP 5xx for the recipient) fails it at once as "bounced". A crash
between the SMTP server's accept and the commit leaves the claim's rows pending, so they are sent again
with the same Message-ID (receivers dedupe on it).

Rows that carry placeholders are filled in at SMTP time by the preparer their kind registered
(apps/messaging/signals.py): survey invitations and reminders by surveys (the link's token is rebuilt
from the invitation's salt with SECRET_KEY), password resets here (`RESET_LINK_PLACEHOLDER`, replaced
by a fresh link). The outcome of each row is sent as `email_sent` / `email_failed` (surveys marks its
invitations from them).
"""

from __future__ import annotations

import logging
import smtplib
from datetime import timedelta
from email.utils import formataddr, parseaddr

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db.models import F, Min, prefetch_related_objects
from django.utils import timezone

from apps.accounts.services import RESET_LINK_PLACEHOLDER, password_reset_link_for
from apps.messaging.models import OutboundEmail
from apps.messaging.signals import NotSent, Parts, email_failed, email_sent, preparer_for
from apps.tenancy.context import tenant_context
from apps.tenancy.due import due_note, due_settle, due_version
from apps.tenancy.models import Tenant
from apps.tenancy.tasks import enqueue_on_commit

logger = logging.getLogger(__name__)
DELIVERY_BATCH = 200
# Rows claimed, sent and marked in one transaction: a batch's round trips are shared (claim, tenant setting,
# commit, the invitations' look-up), at the price that a crash mid-claim sends its already-accepted rows again
# (with their same Message-ID, which receivers dedupe on).
CLAIM_SIZE = 20
DUE_KIND = "outbox"  # apps/tenancy/due.py: the beat wakes a tenant's delivery when its rows fall due


def max_attempts() -> int:
    return getattr(settings, "OUTBOX_MAX_ATTEMPTS", 8)


def backoff(attempts: int) -> timedelta:
    """The wait after the `attempts`-th failure: 2 min, 4, 8 … (about 4 hours over 8 attempts by default)."""
    base = getattr(settings, "OUTBOX_BACKOFF_SECONDS", 120)
    return timedelta(seconds=base * 2 ** max(attempts - 1, 0))


def sender_name(tenant: Tenant) -> str:
    """The name e-mails are signed with: the workspace's sender name, else its name."""
    return tenant.sender_name or tenant.name


def sender_address(tenant: Tenant) -> str:
    """The tenant's sender name and address; DEFAULT_FROM_EMAIL fills what is missing."""
    default_name, default_address = parseaddr(settings.DEFAULT_FROM_EMAIL)
    if not tenant.sender_email and not tenant.sender_name:
        return settings.DEFAULT_FROM_EMAIL
    return formataddr((tenant.sender_name or default_name or tenant.name, tenant.sender_email or default_address))


def email_enqueue(*, tenant: Tenant, kind: str, to_email: str, subject: str, body_text: str, body_html: str = "",
                  message_id: str, invitation=None, deliver: bool = True) -> OutboundEmail:
    """Write one outbox row (idempotent on its Message-ID) in the caller's transaction; with `deliver`,
    the delivery task is queued once the transaction commits."""
    existing = OutboundEmail.objects.filter(message_id=message_id).first()
    if existing is not None:
        return existing
    email = OutboundEmail(tenant=tenant, kind=kind, invitation=invitation, to_email=to_email, subject=subject[:200],
                          body_text=body_text, body_html=body_html, message_id=message_id, next_attempt_at=timezone.now())
    email.full_clean(validate_unique=False, validate_constraints=False)
    email.save()
    due_note(tenant.pk, DUE_KIND)  # the beat wakes this tenant's delivery even if no task is queued below
    if deliver:
        from apps.messaging.tasks import deliver_outbox

        enqueue_on_commit(deliver_outbox, tenant.pk)
    return email


class _Connection:
    """One SMTP connection reused across the rows of a delivery run, reopened after an error."""

    def __init__(self):
        self.backend = None

    def get(self):
        if self.backend is None:
            self.backend = get_connection(fail_silently=False)
            self.backend.open()
        return self.backend

    def reset(self):
        if self.backend is not None:
            try:
                self.backend.close()
            except Exception:  # noqa: BLE001 - closing a broken connection may fail; it is dropped either way
                pass
        self.backend = None


def _due(now):
    return (OutboundEmail.objects.filter(status=OutboundEmail.Status.PENDING)
            .filter(next_attempt_at__lte=now))


def outbox_deliver(*, tenant: Tenant, limit: int = DELIVERY_BATCH) -> dict:
    """Deliver due pending e-mails of `tenant`, a claim of up to CLAIM_SIZE rows per transaction. Returns counts
    {"sent", "retry", "failed"} and, when rows remain pending, "next_in" (seconds until the earliest)."""
    counts = {"sent": 0, "retry": 0, "failed": 0}
    version = due_version(tenant.pk, DUE_KIND)  # read before looking at the rows (apps/tenancy/due.py)
    connection = _Connection()
    handled = 0
    try:
        while handled < limit:
            with tenant_context(tenant):
                # The outbox rows alone: joined to their invitation and contact, the planner (RLS quals on both) could
                # scan every invitation of the tenant for each pending row (157 ms per claim at 450 pending); those are
                # read afterwards, by primary key, in one query for the claim.
                claim = list(_due(timezone.now()).select_for_update(skip_locked=True).order_by("next_attempt_at", "pk")
                             [:min(CLAIM_SIZE, limit - handled)])
                if not claim:
                    break
                prefetch_related_objects(claim, "invitation__contact")
                sent = []
                for email in claim:
                    outcome = _deliver_one(tenant, email, connection)
                    counts[outcome] += 1
                    if outcome == "sent":
                        sent.append(email)
                _mark_sent(sent)
                handled += len(claim)
    finally:
        connection.reset()
    with tenant_context(tenant):
        now = timezone.now()
        earliest = OutboundEmail.objects.filter(status=OutboundEmail.Status.PENDING).aggregate(t=Min("next_attempt_at"))["t"]
        if earliest is not None:
            counts["next_in"] = max(0.0, (earliest - now).total_seconds())
        due_settle(tenant.pk, DUE_KIND, version, earliest)
    return counts


def _fail(email: OutboundEmail, error: str, *, outcome: str = "failed") -> str:
    email.status, email.last_error, email.next_attempt_at = OutboundEmail.Status.FAILED, error[:2000], None
    email.save(update_fields=["status", "last_error", "next_attempt_at", "attempts", "updated_at"])
    email_failed.send(sender=OutboundEmail, email=email, outcome=outcome)
    return "failed"


def _opted_out(address: str) -> bool:
    from apps.clients.models import Contact

    return Contact.objects.filter(email__iexact=address, opted_out=True).exists()


def _prepare_announcement(email: OutboundEmail, parts: Parts) -> None:
    # A "you said, we did" message written before the contact opted out (by any link) is not sent.
    if _opted_out(email.to_email):
        raise NotSent("Not sent: the contact opted out.")


def _prepare_password_reset(email: OutboundEmail, parts: Parts) -> None:
    # The row holds a placeholder: the link is a key to the account, made now (apps/accounts/services.py).
    link = password_reset_link_for(email.to_email)
    if link is None:
        raise NotSent("Not sent: the account is no longer active.")
    parts.text = parts.text.replace(RESET_LINK_PLACEHOLDER, link)
    parts.html = parts.html.replace(RESET_LINK_PLACEHOLDER, link)
    parts.from_email = settings.DEFAULT_FROM_EMAIL  # the product's mail, not the workspace's


PREPARERS = {OutboundEmail.Kind.ANNOUNCEMENT: _prepare_announcement, OutboundEmail.Kind.PASSWORD_RESET: _prepare_password_reset}


def _deliver_one(tenant: Tenant, email: OutboundEmail, connection: _Connection) -> str:
    parts = Parts(text=email.body_text, html=email.body_html, headers={"Message-ID": email.message_id},
                  from_email=sender_address(tenant))
    prepare = PREPARERS.get(email.kind) or preparer_for(email.kind)
    if prepare is not None:
        try:
            prepare(email, parts)
        except NotSent as exc:
            return _fail(email, exc.reason, outcome=exc.outcome)
    message = EmailMultiAlternatives(subject=email.subject, body=parts.text, from_email=parts.from_email, to=[email.to_email],
                                     headers=parts.headers)
    if parts.html:
        message.attach_alternative(parts.html, "text/html")
    email.attempts += 1
    try:
        message.connection = connection.get()
        message.send()
    except smtplib.SMTPRecipientsRefused as exc:
        connection.reset()
        codes = [code for code, _ in exc.recipients.values()]
        if codes and all(code >= 500 for code in codes):
            return _fail(email, f"The address was refused: {exc.recipients}", outcome="bounced")
        return _retry(email, exc)
    except (smtplib.SMTPException, OSError) as exc:
        connection.reset()
        return _retry(email, exc)
    return "sent"  # marked by _mark_sent, with the claim's other accepted rows


def _mark_sent(emails: list[OutboundEmail]) -> None:
    """The rows the SMTP server accepted in one claim: marked sent in one statement, then their signal each."""
    if not emails:
        return
    now = timezone.now()
    OutboundEmail.objects.filter(pk__in=[e.pk for e in emails]).update(
        status=OutboundEmail.Status.SENT, sent_at=now, last_error="", next_attempt_at=None, attempts=F("attempts") + 1, updated_at=now)
    for email in emails:
        email.status, email.sent_at, email.last_error, email.next_attempt_at = OutboundEmail.Status.SENT, now, "", None
        email_sent.send(sender=OutboundEmail, email=email, sent_at=now)


def _retry(email: OutboundEmail, exc: Exception) -> str:
    error = f"{type(exc).__name__}: {exc}"
    if email.attempts >= max_attempts():
        logger.warning("outbox: giving up on %s after %s attempts: %s", email.message_id, email.attempts, error)
        return _fail(email, f"Gave up after {email.attempts} attempts. Last error: {error}")
    email.last_error = error[:2000]
    email.next_attempt_at = timezone.now() + backoff(email.attempts)
    email.save(update_fields=["attempts", "last_error", "next_attempt_at", "updated_at"])
    return "retry"
