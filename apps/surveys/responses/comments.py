"""A response's comment analysed: its language and sentiment (apps.core.nlp), stored on the response, then
its themes (apps.surveys.themes), whose statistics metrics recomputes for the day (`response_themes_changed`).

Two ways in, one computation:
- `response_comment_analyse` — one response, queued on commit of its submission
  (apps.surveys.tasks.analyse_response_comment); idempotent, and a no-op if the comment changed or was
  already analysed by this analyser version meanwhile;
- `comments_analyse` — every comment of a tenant still unanalysed (or analysed by an older version, or
  all with `everything=True`), in id order, a batch per transaction, reporting progress, then themed; what
  `manage.py analyse_comments` runs. Resumable: stopped midway, the next run takes the rest.
"""

from __future__ import annotations

from collections.abc import Callable

from django.db import connection
from django.db.models import Q, QuerySet

from apps.core.events import response_themes_changed
from apps.core.nlp import ANALYSER_VERSION, analyse_text
from apps.surveys.models import Response
from apps.surveys.themes import services as themes
from apps.tenancy.context import tenant_context
from apps.tenancy.models import Tenant

BATCH = 2000
TABLE = Response._meta.db_table
FIELDS = ("comment_language", "comment_sentiment", "comment_analyser")


def response_comment_sentiment(response: Response) -> float:
    """The comment's sentiment as stored, or computed now the same way if not stored yet (an alert
    rule evaluated before the analysis task ran); 0.0 for no comment."""
    if response.comment_analyser == ANALYSER_VERSION and response.comment_sentiment is not None:
        return response.comment_sentiment
    analysis = analyse_text(response.comment, fallback_language=response.language)
    return analysis.sentiment if analysis else 0.0


def response_comment_fill(response: Response) -> None:
    """Set the response's comment language, sentiment and analyser version (unsaved): what the task
    stores, for a caller that builds responses in bulk (the demo)."""
    analysis = analyse_text(response.comment, fallback_language=response.language)
    response.comment_language = analysis.language if analysis else ""
    response.comment_sentiment = analysis.sentiment if analysis else None
    response.comment_analyser = ANALYSER_VERSION


ANALYSED_COLUMNS = ("id", "tenant_id", "comment", "language", "comment_analyser", "local_day", "is_bot")


def response_comment_analyse(*, tenant: Tenant, response_id: int) -> bool:
    """Store the comment's language and sentiment, then its themes; False when there was nothing to do."""
    response = Response.objects.filter(pk=response_id).only(*ANALYSED_COLUMNS).first()
    if response is None or response.comment_analyser == ANALYSER_VERSION:
        return False
    response_comment_fill(response)
    # Guarded by the text analysed: a comment rewritten meanwhile is left for its own analysis.
    if not Response.objects.filter(pk=response.pk, comment=response.comment).update(**{field: getattr(response, field) for field in FIELDS}):
        return False
    themes.response_themes_assign(tenant=tenant, response=response)
    return True


def _write(tenant: Tenant, rows: list[Response]) -> None:
    """Store a batch's analysis in one statement. On Postgres an UPDATE joined to the batch's VALUES (linear in the
    batch; Django's bulk_update writes CASE WHEN id = … per row and column, quadratic: 40 s of 60 for 100,000
    comments); on SQLite (the demo) bulk_update."""
    if connection.vendor != "postgresql":
        Response.objects.bulk_update(rows, FIELDS)
        return
    values = ", ".join(["(%s, %s, %s::double precision, %s)"] * len(rows))
    params = [value for r in rows for value in (r.pk, r.comment_language, r.comment_sentiment, r.comment_analyser)]
    with connection.cursor() as cursor:  # the tenant named: one shard's statement on a Citus cluster
        cursor.execute(f"UPDATE {TABLE} AS r SET comment_language = v.language, comment_sentiment = v.sentiment, "
                       f"comment_analyser = v.analyser FROM (VALUES {values}) AS v(id, language, sentiment, analyser) "
                       "WHERE r.tenant_id = %s AND r.id = v.id", [*params, tenant.pk])


def comments_pending(*, everything: bool = False) -> QuerySet[Response]:
    """The current tenant's responses with a comment whose analysis is missing or made by an older
    analyser (every one with a comment, with `everything`)."""
    rows = Response.objects.exclude(comment="")
    return rows if everything else rows.filter(~Q(comment_analyser=ANALYSER_VERSION))


def comments_analyse(tenant: Tenant, *, everything: bool = False, batch: int = BATCH,
                     progress: Callable[[int, int], None] | None = None) -> int:
    """Analyse the tenant's pending comments (module docstring), a batch per transaction, then announce the
    days touched (their theme statistics are recomputed); returns how many responses were written.
    `progress(done, total)` after each batch. Themes are not re-assigned here (themes_reassign)."""
    with tenant_context(tenant):
        total = comments_pending(everything=everything).count()
    done, after, days = 0, 0, set()
    while True:
        with tenant_context(tenant):
            rows = list(comments_pending(everything=everything).filter(pk__gt=after).order_by("pk").only(*ANALYSED_COLUMNS)[:batch])
            if not rows:
                break
            for response in rows:
                response_comment_fill(response)
            _write(tenant, rows)
        after = rows[-1].pk
        done += len(rows)
        days.update(r.local_day for r in rows)
        if progress:
            progress(done, max(total, done))
    if days:
        with tenant_context(tenant):
            response_themes_changed.send(sender=Response, tenant=tenant, days=sorted(days))
    return done
