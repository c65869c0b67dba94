"""`manage.py citus_distribute [--check]`: on Citus, global tables become reference tables and tenant tables
are distributed by tenant_id, co-located (apps/tenancy/citus.py says which and why). Idempotent."""

from django.core.management.base import BaseCommand, CommandError

from apps.tenancy import citus


class Command(BaseCommand):
    help = "On a Citus cluster: reference tables for global tables, tenant tables distributed by tenant_id (co-located)."

    def add_arguments(self, parser):
        parser.add_argument("--check", action="store_true", help="Print what is and would be distributed; change nothing.")
        parser.add_argument("--shard-count", type=int, default=None,
                            help=f"Shards of the tenant co-location group when it is created (default: settings.CITUS_SHARD_COUNT, "
                                 f"{citus.DEFAULT_SHARD_COUNT}).")
        parser.add_argument("--database", default="default")

    def handle(self, *args, check=False, shard_count=None, database="default", **options):
        if not citus.citus_installed(database):
            message = "The citus extension is not installed in this database: nothing to distribute (single-server mode)."
            if check:
                self.stdout.write(message)
                return
            raise CommandError(message)
        if check:
            plans = citus.plan(database)
            self.stdout.write(citus.check_table(plans))
            todo = [p for p in plans if not p.done]
            self.stdout.write(f"\n{len(plans) - len(todo)} of {len(plans)} tables done, {len(todo)} to do.")
            return
        try:
            plans = citus.distribute(database, count=shard_count, report=lambda line: self.stdout.write(line))
        except citus.CitusError as exc:
            raise CommandError(str(exc)) from exc
        tenant = sum(1 for p in plans if p.kind == citus.DISTRIBUTED)
        self.stdout.write(self.style.SUCCESS(
            f"citus_distribute: {tenant} tenant tables distributed by tenant_id, "
            f"{sum(1 for p in plans if p.kind == citus.REFERENCE)} global tables as reference tables; all done."
        ))
