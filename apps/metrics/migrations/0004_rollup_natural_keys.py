"""Rollup tables keyed by their natural key (issue 17 item 4): `pk = CompositePrimaryKey("tenant_id", …)`
instead of an identity `id`, so the engine's `INSERT … SELECT` runs distributed under row-level
security on Citus. The rows are kept (apps.tenancy.keys.NaturalPrimaryKey)."""

from django.db import migrations

from apps.tenancy.keys import NaturalPrimaryKey


class Migration(migrations.Migration):

    dependencies = [
        ("metrics", "0003_tenant_keys"),
    ]

    operations = [
        NaturalPrimaryKey("responsecell", ("tenant_id", "day", "survey_id", "touchpoint_id", "stage_id", "journey_id",
                                           "segment_id", "staff_id", "channel"), replaces="metrics_cell_key"),
        NaturalPrimaryKey("responserollup", ("tenant_id", "dimension", "key", "day"), replaces="metrics_rollup_key"),
        NaturalPrimaryKey("transitionrollup", ("tenant_id", "journey_id", "from_stage_id", "to_stage_id", "day"),
                          replaces="metrics_transition_key"),
        NaturalPrimaryKey("funnelrollup", ("tenant_id", "survey_id", "channel", "day"), replaces="metrics_funnel_key"),
    ]
