"""Manual sends: a survey to a segment and/or chosen contacts, made by a Celery task, never in the request.

The request (page or API) only records a `ManualSend` and queues `run_manual_send` on commit, so a send to
5,000 contacts answers at once instead of running into the server's timeout. The task makes the
invitations through `invitation_create` (the same rules and send log as every trigger), in chunks of
`CHUNK` contacts per transaction, counting as it goes: the page shows progress, and each chunk's
invitations are handed to the sender as soon as they commit (dispatch is not paced by the beat).

Idempotent at every level: one ManualSend per (survey, batch) — posting the same batch again replays the
first answer; one invitation per (survey, `manual:<batch>:<contact uuid>`) — a task killed mid-way and run
again (acks_late redelivers it) continues after the last chunk it committed, and never invites twice.
"""

from __future__ import annotations

import dataclasses
import uuid as uuid_lib
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, Max, Q
from django.utils import timezone

from apps.clients.models import Contact, Segment
from apps.core.progress import Progress
from apps.surveys.distribution.services import invitation_create, skip_reasons_bulk, survey_accepts_invitations
from apps.surveys.models import SCHEDULED_SENDS_DUE, Invitation, ManualSend, Survey
from apps.tenancy.context import tenant_context
from apps.tenancy.due import due_note, due_settle, due_version
from apps.tenancy.models import Membership, Tenant
from apps.tenancy.services import audit_event_record
from apps.tenancy.tasks import enqueue_on_commit

CHUNK = 200
Skip = Invitation.SkipReason


SCHEDULE_HORIZON = timedelta(days=365)


def manual_dedupe_prefix(batch) -> str:
    return f"manual:{batch}:"


def _audience(segment_id, contact_ids):
    """The contacts a send invites: the chosen ones and every contact of the segment's clients, each once."""
    wanted = Q(pk__in=contact_ids or [])
    if segment_id:
        wanted |= Q(client__segment_id=segment_id)
    # The client's segment and owner: the hidden fields each invitation carries (no query per contact).
    return Contact.objects.filter(wanted).select_related("client__segment", "client__owner__user").order_by("pk")


def _targets(send: ManualSend):
    return _audience(send.segment_id, send.contact_ids)


@dataclasses.dataclass(frozen=True)
class Audience:
    """Who a send would reach now: how many contacts, how many invited, how many skipped and why (the distribution
    rules themselves, `skip_reasons_bulk`, not an estimate)."""

    total: int
    invited: int
    skipped: dict[str, int]

    def skipped_rows(self) -> list[tuple[str, str, int]]:
        labels = dict(Skip.choices)
        return sorted(((reason, labels.get(reason, reason), n) for reason, n in self.skipped.items()), key=lambda r: (-r[2], r[1]))


def manual_send_audience(*, tenant: Tenant, survey: Survey, segment: Segment | None = None, contacts=(), now=None) -> Audience:
    """What sending now would do, before anything is sent (the send page's review, the API's audience)."""
    now = now or timezone.now()
    targets = list(_audience(segment.pk if segment else None, sorted({c.pk for c in contacts})))
    reasons = skip_reasons_bulk(tenant=tenant, survey=survey, contacts=targets, now=now)
    skipped: dict[str, int] = {}
    for reason in reasons.values():
        if reason:
            skipped[reason] = skipped.get(reason, 0) + 1
    return Audience(total=len(targets), invited=len(targets) - sum(skipped.values()), skipped=skipped)


@transaction.atomic
def manual_send_start(*, tenant: Tenant, acting_user, survey: Survey, batch, segment: Segment | None = None,
                      contacts=(), acting_member: Membership | None = None, scheduled_for=None) -> tuple[ManualSend, bool]:
    """Record a manual send and queue its task once this transaction commits — or, with `scheduled_for` (in the
    future, within a year), record it as scheduled: the beat starts it then (`manual_sends_start_due`), and it can
    be cancelled until then. Returns (the send, replayed): the same `batch` again returns the first send and
    records nothing."""
    batch = uuid_lib.UUID(str(batch))
    earlier = ManualSend.objects.filter(survey=survey, batch=batch).first()
    if earlier is not None:
        return earlier, True
    if segment is None and not contacts:
        raise ValidationError({"contacts": "Choose a segment or at least one contact."})
    now = timezone.now()
    if scheduled_for is not None and not now < scheduled_for <= now + SCHEDULE_HORIZON:
        raise ValidationError({"scheduled_for": "Choose a moment in the future, within a year."})
    if not survey_accepts_invitations(survey, scheduled_for or now):
        raise ValidationError("This survey is not open: publish it (or resume it, or change its dates) before sending.")
    send = ManualSend(tenant=tenant, survey=survey, batch=batch, segment=segment, segment_name=segment.name if segment else "",
                      contact_ids=sorted({c.pk for c in contacts}), created_by=acting_member,
                      acting_user=acting_user if getattr(acting_user, "pk", None) else None, scheduled_for=scheduled_for,
                      status=ManualSend.Status.SCHEDULED if scheduled_for is not None else ManualSend.Status.QUEUED)
    send.total = _targets(send).count()
    try:
        with transaction.atomic():
            send.save()
    except IntegrityError:  # the same batch, posted twice at once: the first one wins
        return ManualSend.objects.get(survey=survey, batch=batch), True
    if scheduled_for is not None:
        audit_event_record(tenant=tenant, acting_user=acting_user, action="survey.send_scheduled", target=survey,
                           changes={"batch": [None, str(batch)], "scheduled_for": [None, scheduled_for.isoformat()]})
        due_note(tenant.pk, SCHEDULED_SENDS_DUE, scheduled_for)
        return send, False
    from apps.surveys.tasks import run_manual_send

    enqueue_on_commit(run_manual_send, tenant.pk, send.pk)
    return send, False


@transaction.atomic
def manual_send_cancel(*, tenant: Tenant, acting_user, send: ManualSend) -> ManualSend:
    """Cancel a scheduled send before it starts (nothing was made yet); a send already started is refused."""
    send = ManualSend.objects.select_for_update().get(pk=send.pk)
    if send.status != ManualSend.Status.SCHEDULED:
        raise ValidationError("Only a scheduled send can be cancelled, before it starts; this one has "
                              f"{'started' if send.is_active else 'ended'}.", code="not_scheduled")
    send.status, send.finished_at = ManualSend.Status.CANCELLED, timezone.now()
    send.save(update_fields=["status", "finished_at", "updated_at"])
    audit_event_record(tenant=tenant, acting_user=acting_user, action="survey.send_cancelled", target=send.survey,
                       changes={"batch": [None, str(send.batch)], "scheduled_for": [send.scheduled_for.isoformat(), None]})
    return send


def manual_sends_start_due(*, tenant: Tenant, now=None) -> int:
    """The beat's look at scheduled sends: each one due now is queued for its task (then runs like any manual send);
    the next one's time is noted for the next wake-up (apps/tenancy/due.py). Returns how many started."""
    from apps.surveys.tasks import run_manual_send

    now = now or timezone.now()
    version = due_version(tenant.pk, SCHEDULED_SENDS_DUE)
    started = 0
    with transaction.atomic():
        due = list(ManualSend.objects.select_for_update(skip_locked=True)
                   .filter(status=ManualSend.Status.SCHEDULED, scheduled_for__lte=now).order_by("scheduled_for"))
        for send in due:
            send.status = ManualSend.Status.QUEUED
            send.save(update_fields=["status", "updated_at"])
            enqueue_on_commit(run_manual_send, tenant.pk, send.pk)
            started += 1
        following = (ManualSend.objects.filter(status=ManualSend.Status.SCHEDULED, scheduled_for__gt=now)
                     .order_by("scheduled_for").values_list("scheduled_for", flat=True).first())
    due_settle(tenant.pk, SCHEDULED_SENDS_DUE, version, following)
    return started


def _count(send: ManualSend) -> None:
    """Store how many invitations the send has made so far, queued and skipped per reason (one query)."""
    rows = (Invitation.objects.filter(survey_id=send.survey_id, dedupe_key__startswith=manual_dedupe_prefix(send.batch))
            .values("status", "skip_reason").annotate(n=Count("pk")).order_by())
    send.done = sum(r["n"] for r in rows)
    send.queued = sum(r["n"] for r in rows if r["status"] != Invitation.Status.SKIPPED)
    send.skipped = {r["skip_reason"]: r["n"] for r in rows if r["status"] == Invitation.Status.SKIPPED}


def manual_send_run(*, tenant: Tenant, send_id: int) -> ManualSend | None:
    """Make a recorded send's invitations, CHUNK contacts per transaction, then mark it done and audit it.
    Safe to run again at any point (see the module docstring); a finished send is left as it is."""
    from apps.surveys.tasks import dispatch_invitations

    with tenant_context(tenant):
        send = ManualSend.objects.select_related("survey__current_version").filter(pk=send_id).first()
        if send is None or not send.is_active:
            return send
        send.status, send.started_at = ManualSend.Status.RUNNING, send.started_at or timezone.now()
        send.save(update_fields=["status", "started_at", "updated_at"])
    prefix, survey = manual_dedupe_prefix(send.batch), send.survey
    with tenant_context(tenant):  # chunks commit in contact order: a rerun picks up after the last one committed
        after = manual_send_invitations(send).aggregate(last=Max("contact_id"))["last"] or 0
    while True:
        with tenant_context(tenant):
            chunk = list(_targets(send).filter(pk__gt=after)[:CHUNK])
            if not chunk:
                break
            made = [invitation_create(tenant=tenant, survey=survey, contact=contact, source=Invitation.Source.MANUAL,
                                      dedupe_key=f"{prefix}{contact.uuid}", acting_member=send.created_by, dispatch=False)
                    for contact in chunk]
            _count(send)
            send.save(update_fields=["done", "queued", "skipped", "updated_at"])
            if any(i.status == Invitation.Status.QUEUED for i in made):
                enqueue_on_commit(dispatch_invitations, tenant.pk)  # this chunk starts going out now
            after = chunk[-1].pk
    with tenant_context(tenant):
        finished = ManualSend.objects.select_for_update().get(pk=send.pk)  # a second runner (a redelivered task) waits here
        if not finished.is_active:
            return finished
        _count(finished)
        finished.total = max(finished.total, finished.done)
        finished.status, finished.finished_at = ManualSend.Status.DONE, timezone.now()
        finished.save(update_fields=["done", "queued", "skipped", "total", "status", "finished_at", "updated_at"])
        audit_event_record(tenant=tenant, acting_user=finished.acting_user, action="survey.sent", target=survey,
                           changes={"batch": [None, str(finished.batch)], "segment": [None, finished.segment_name or None],
                                    "queued": [None, finished.queued], "skipped": [None, finished.skipped]})
    return finished


def manual_send_fail(*, tenant: Tenant, send_id: int, error: str) -> None:
    """Record why a send stopped (the invitations made so far stay, and are sent)."""
    with tenant_context(tenant):
        ManualSend.objects.filter(pk=send_id, status__in=ManualSend.ACTIVE_STATUSES).update(
            status=ManualSend.Status.FAILED, error_message=error[:2000], finished_at=timezone.now(), updated_at=timezone.now())


def manual_send_summary(send: ManualSend) -> str:
    """In words: "3 invitations queued, 2 not sent (1 opted out; 1 no e-mail address)."."""
    labels = dict(Skip.choices)
    parts = [f"{n} {labels.get(reason, reason).lower()}" for reason, n in sorted(send.skipped.items())]
    skipped = send.skipped_total
    text = f"{send.queued} invitation{'s' if send.queued != 1 else ''} queued"
    if skipped:
        text += f", {skipped} not sent ({'; '.join(parts)})"
    return text + "."


def manual_send_invitations(send: ManualSend):
    """The invitations a send made (its page's links, the API's `batch` filter, the send log)."""
    return Invitation.objects.filter(survey_id=send.survey_id, dedupe_key__startswith=manual_dedupe_prefix(send.batch))


def manual_send_skipped(send: ManualSend) -> list[tuple[str, str, int]]:
    """(reason, label, count) of the invitations not sent, most first."""
    labels = dict(Skip.choices)
    return sorted(((reason, labels.get(reason, reason), n) for reason, n in send.skipped.items()), key=lambda r: (-r[2], r[1]))


def manual_send_progress(send: ManualSend) -> Progress:
    phase = {ManualSend.Status.QUEUED: "Waiting for a worker", ManualSend.Status.RUNNING: "Making invitations"}.get(
        send.status, send.get_status_display())
    return Progress(send.status, send.get_status_display(), phase, send.done, max(send.total, send.done),
                    not send.is_active, "contacts")
