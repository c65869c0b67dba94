"""Orders unique per parent on Postgres, checked at commit (DEFERRABLE INITIALLY DEFERRED), so a
reorder can move rows through each other's positions inside one transaction. SQLite has no
deferrable unique constraints: there the services alone keep orders contiguous."""

from django.db import migrations

CONSTRAINTS = [
    ("journeys_stage", "journeys_stage_order_unique", "tenant_id, journey_id, \"order\""),
    ("journeys_stagetouchpoint", "journeys_placement_order_unique", "tenant_id, stage_id, \"order\""),
]


def add_constraints(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table, name, columns in CONSTRAINTS:
        schema_editor.execute(f"ALTER TABLE {table} ADD CONSTRAINT {name} UNIQUE ({columns}) DEFERRABLE INITIALLY DEFERRED")


def drop_constraints(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table, name, _ in CONSTRAINTS:
        schema_editor.execute(f"ALTER TABLE {table} DROP CONSTRAINT IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("journeys", "0006_placement_order_index")]

    operations = [migrations.RunPython(add_constraints, drop_constraints, elidable=False)]
