"""`manage.py rebuild_rollups [--tenant SLUG ...]`: rebuild rollups (cells, dimension rollups,
volatility transitions, the invitation funnel and the comment-theme statistics) from the response and invitation rows, month by
month, with a progress bar per tenant. Safe while the site runs: each month is replaced in one
transaction under the tenant's rollup lock, so dashboards see either the old or the new month."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError

from apps.core.progress import write_bar
from apps.metrics.funnel.services import funnel_rebuild
from apps.metrics.rollups import local_days_rewrite, rollups_rebuild
from apps.metrics.themes.rollups import theme_rollups_rebuild
from apps.tenancy.context import tenant_context
from apps.tenancy.selectors import active_tenants_by_slug


class Command(BaseCommand):
    help = "Rebuild metrics rollups from the response rows (all tenants, or --tenant SLUG, repeatable)."

    def add_arguments(self, parser):
        parser.add_argument("--tenant", action="append", metavar="SLUG", help="Only this tenant (repeat for several).")
        parser.add_argument("--redate", action="store_true",
                            help="First re-date every response in the tenant's current time zone (after a time-zone change).")

    def handle(self, *args, tenant=None, redate=False, **options):
        try:
            tenants = active_tenants_by_slug(tenant)
        except LookupError as exc:
            raise CommandError(str(exc)) from exc
        for t in tenants:
            started = time.monotonic()
            if redate:
                local_days_rewrite(t)
            run = rollups_rebuild(t, progress=lambda done, total, t=t: write_bar(self.stdout, t.slug, done, total, "months"))
            funnel_rebuild(t)
            with tenant_context(t):
                theme_rollups_rebuild(t)
            self.stdout.write("")  # end the progress line
            self.stdout.write(f"  {t.slug}: {run.rows_checked} rollup rows in {time.monotonic() - started:.1f} s")
