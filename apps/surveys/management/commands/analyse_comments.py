"""`manage.py analyse_comments [--tenant SLUG ...] [--all]`: the whole comment pipeline, per tenant, with a
progress line per phase: (1) detect the language and score the sentiment (apps.core.nlp) of the comments
not yet analysed by the current analyser (every comment with --all); (2) theme every comment (keyword rules
and the trained classifier; people's corrections kept); (3) recompute every day's theme statistics. Safe
while the site runs and resumable (a batch per transaction)."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError

from apps.core.progress import write_bar
from apps.surveys.responses.comments import comments_analyse
from apps.surveys.themes.services import themes_reassign
from apps.tenancy.selectors import active_tenants_by_slug


class Command(BaseCommand):
    help = "Analyse comments' language and sentiment (all tenants, or --tenant SLUG, repeatable)."

    def add_arguments(self, parser):
        parser.add_argument("--tenant", action="append", metavar="SLUG", help="Only this tenant (repeat for several).")
        parser.add_argument("--all", action="store_true", dest="everything",
                            help="Analyse every comment again, not only those missing or made by an older analyser.")

    def handle(self, *args, tenant=None, everything=False, **options):
        try:
            tenants = active_tenants_by_slug(tenant)
        except LookupError as exc:
            raise CommandError(str(exc)) from exc
        for t in tenants:
            started = time.monotonic()
            done = comments_analyse(t, everything=everything, progress=lambda d, n, t=t: write_bar(self.stdout, t.slug, d, n, "responses"))
            seconds = time.monotonic() - started
            rate = f", {done / seconds:,.0f}/s" if done and seconds > 0 else ""
            if done:
                self.stdout.write("")  # end the progress line
            self.stdout.write(f"  {t.slug}: {done} responses analysed in {seconds:.1f} s{rate}")
            started = time.monotonic()
            themed = themes_reassign(t, recount_all=True, progress=lambda d, n, t=t: write_bar(self.stdout, t.slug, d, n, "comments themed"))
            if themed:
                self.stdout.write("")
            self.stdout.write(f"  {t.slug}: {themed} comments themed and theme statistics recomputed in {time.monotonic() - started:.1f} s")
