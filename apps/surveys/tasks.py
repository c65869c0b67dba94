"""Survey distribution tasks: thin adapters (tenant id + ids) over distribution/services.py, and the
beat fan-outs (CELERY_BEAT_SCHEDULE) that run them for every tenant. Every task is idempotent: claimed
rows are locked and re-checked. The outbox's delivery tasks are in apps/messaging/tasks.py."""

from __future__ import annotations

from celery import shared_task

from apps.surveys.distribution import manual
from apps.surveys.distribution import services as distribution
from apps.surveys.history import services as history
from apps.surveys.models import DISPATCH_DUE, EXPIRY_DUE, REMINDERS_DUE, SCHEDULED_SENDS_DUE
from apps.surveys.responses.comments import comments_analyse, response_comment_analyse
from apps.surveys.themes import services as themes
from apps.tenancy.models import Tenant
from apps.tenancy.tasks import fan_out, fan_out_due, tenant_task


@tenant_task()
def surveys_for_interaction(tenant, interaction_id: int) -> int:
    """After-interaction trigger, queued on commit of `interaction_log`."""
    return len(distribution.invitations_for_interaction(tenant=tenant, interaction_id=interaction_id))


@tenant_task()
def analyse_response_comment(tenant, response_id: int) -> bool:
    """A new comment's language and sentiment, queued on commit of `response_submit`."""
    return response_comment_analyse(tenant=tenant, response_id=response_id)


@tenant_task(name="surveys.response_import_review")
def response_import_review_task(tenant, job_id: int) -> str | None:
    job = history.response_import_review(tenant=tenant, job_id=job_id)
    return job.status if job else None


@tenant_task(name="surveys.response_import_apply")
def response_import_apply_task(tenant, job_id: int) -> str | None:
    job = history.response_import_apply(tenant=tenant, job_id=job_id)
    return job.status if job else None


# The theme tasks below commit batch by batch (each opens its tenant context per batch), so they are plain
# tasks that look the tenant up, not `tenant_task`s (whose body is one transaction).

def _active(tenant_id: int) -> Tenant | None:
    return Tenant.objects.filter(pk=tenant_id, is_active=True).first()


@shared_task(ignore_result=True)
def reassign_themes(tenant_id: int) -> int:
    """Re-theme every comment after a taxonomy change."""
    tenant = _active(tenant_id)
    return themes.themes_reassign(tenant) if tenant else 0


@shared_task(ignore_result=True)
def analyse_imported_comments(tenant_id: int) -> int:
    """After a history import: the new comments' language and sentiment, then every comment's themes (the
    imported ones get theirs; people's corrections are kept) and the theme statistics of their days."""
    tenant = _active(tenant_id)
    if tenant is None:
        return 0
    done = comments_analyse(tenant)
    themes.themes_reassign(tenant)
    return done


@shared_task(ignore_result=True)
def suggest_themes(tenant_id: int) -> int:
    """Suggest new themes from the comments no theme covers (NMF), replacing the open suggestions."""
    from apps.surveys.themes.suggestions import suggest

    tenant = _active(tenant_id)
    return len(suggest(tenant)) if tenant else 0


@shared_task(ignore_result=True)
def train_theme_classifier(tenant_id: int) -> bool:
    """Retrain the classifier after people's corrections (queued with a delay by each correction: the first run
    after a burst trains on all of them, the later ones find the model newer than every correction and stop)."""
    tenant = _active(tenant_id)
    if tenant is None or not themes.classifier_outdated(tenant):
        return False
    themes.classifier_train(tenant)
    return True


@tenant_task()
def dispatch_invitations(tenant, invitation_id: int | None = None) -> int:
    """Write due invitations' e-mails to the outbox (one invitation, or every due one)."""
    return distribution.invitations_dispatch_due(tenant=tenant, invitation_id=invitation_id)


@shared_task(bind=True, max_retries=3)
def run_manual_send(self, tenant_id: int, send_id: int) -> None:
    """Make a manual send's invitations (distribution/manual.py), a chunk per transaction (so not a
    `tenant_task`, whose body is one transaction). A failure is retried; after the last retry the send
    is marked failed with the reason, and what was made so far stays (and is sent)."""
    tenant = Tenant.objects.filter(pk=tenant_id, is_active=True).first()
    if tenant is None:
        return
    try:
        manual.manual_send_run(tenant=tenant, send_id=send_id)
    except Exception as exc:
        if self.request.is_eager or self.request.retries >= self.max_retries:
            manual.manual_send_fail(tenant=tenant, send_id=send_id, error=f"{type(exc).__name__}: {exc}")
            raise
        raise self.retry(exc=exc, countdown=5 * (self.request.retries + 1)) from exc


@tenant_task()
def send_reminders(tenant) -> int:
    return distribution.reminders_send_due(tenant=tenant)


@tenant_task()
def create_recurring_invitations(tenant) -> int:
    return distribution.invitations_create_recurring(tenant=tenant)


@tenant_task()
def expire_invitations(tenant) -> int:
    return distribution.invitations_expire(tenant=tenant)


# --- beat fan-outs ------------------------------------------------------------------------------

@shared_task
def fan_out_dispatch_invitations() -> int:
    """Every minute: the tenants with queued invitations due (none when all is quiet) dispatch them."""
    return fan_out_due(DISPATCH_DUE, dispatch_invitations)


@shared_task
def fan_out_send_reminders() -> int:
    """Hourly: the tenants with a reminder due (none when all is quiet) send theirs."""
    return fan_out_due(REMINDERS_DUE, send_reminders)


@shared_task
def fan_out_create_recurring_invitations() -> int:
    return fan_out(create_recurring_invitations)


@tenant_task()
def start_scheduled_sends(tenant) -> int:
    return manual.manual_sends_start_due(tenant=tenant)


@shared_task
def fan_out_start_scheduled_sends() -> int:
    """Every minute: the tenants with a scheduled manual send due (none when all is quiet) start theirs."""
    return fan_out_due(SCHEDULED_SENDS_DUE, start_scheduled_sends)


@shared_task
def fan_out_expire_invitations() -> int:
    """Hourly: the tenants with an invitation run out (none when all is quiet) expire theirs."""
    return fan_out_due(EXPIRY_DUE, expire_invitations)
