"""Response columns the metrics engine reads (issue 6): journey (of the stage), local_day (the
tenant-local submission date rollups bucket by), enps (kept apart from customer NPS) and predicted
(the staff prediction of the triggering interaction). Existing rows are backfilled tenant by tenant:
the tables are under forced row-level security, so each tenant's rows are visible only with its
`app.tenant_id` set."""

import django.core.validators
import django.db.models.deletion
from zoneinfo import ZoneInfo

from django.db import migrations, models
from django.db.models import OuterRef, Subquery
from django.db.models.functions import TruncDate


def backfill(apps, schema_editor):
    Tenant = apps.get_model("tenancy", "Tenant")
    Response = apps.get_model("surveys", "Response")
    Answer = apps.get_model("surveys", "Answer")
    Stage = apps.get_model("journeys", "Stage")
    Interaction = apps.get_model("touchpoints", "Interaction")
    connection = schema_editor.connection
    for tenant in Tenant.objects.all():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT set_config('app.tenant_id', %s, true)", [str(tenant.pk)])
        rows = Response.objects.filter(tenant_id=tenant.pk)
        rows.update(local_day=TruncDate("submitted_at", tzinfo=ZoneInfo(tenant.time_zone)))
        rows.filter(stage__isnull=False).update(
            journey_id=Subquery(Stage.objects.filter(pk=OuterRef("stage_id")).values("journey_id")[:1]))
        rows.filter(interaction__isnull=False).update(
            predicted=Subquery(Interaction.objects.filter(pk=OuterRef("interaction_id")).values("predicted_score")[:1]))
        enps = {}
        for response_id, value in (Answer.objects.filter(tenant_id=tenant.pk, response__survey__kind="enps", question__type="nps")
                                   .order_by("-question__order").values_list("response_id", "value")):
            enps[response_id] = value  # the first question wins (ordered last-first)
        for response_id, value in enps.items():
            if isinstance(value, int) and 0 <= value <= 10:
                Response.objects.filter(pk=response_id).update(enps=value)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config('app.tenant_id', '', true)")


class Migration(migrations.Migration):

    dependencies = [
        ('clients', '0002_row_level_security'),
        ('journeys', '0007_contiguous_orders'),
        ('surveys', '0004_responses_tag_name_ci'),
        ('tenancy', '0005_idempotencyrecord'),
        ('touchpoints', '0002_row_level_security'),
    ]

    operations = [
        migrations.AddField(
            model_name='response',
            name='enps',
            field=models.PositiveSmallIntegerField(blank=True, help_text='The 0–10 answer of an employee-pulse (eNPS) survey; never customer NPS.', null=True, validators=[django.core.validators.MaxValueValidator(10)]),
        ),
        migrations.AddField(
            model_name='response',
            name='journey',
            field=models.ForeignKey(blank=True, help_text='The journey of the stage, as of submission.', null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='responses', to='journeys.journey'),
        ),
        migrations.AddField(
            model_name='response',
            name='local_day',
            field=models.DateField(blank=True, help_text="submitted_at's date in the tenant's time zone: the day rollups bucket it in (METRICS.md). Filled on save; rewritten when the tenant changes time zone.", null=True),
        ),
        migrations.AddField(
            model_name='response',
            name='predicted',
            field=models.PositiveSmallIntegerField(blank=True, help_text='The score the staff member predicted when logging the interaction that triggered this survey (the perception-gap pair), as of submission.', null=True, validators=[django.core.validators.MaxValueValidator(10)]),
        ),
        migrations.AddIndex(
            model_name='response',
            index=models.Index(fields=['tenant', 'local_day'], name='surveys_resp_local_day'),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
        migrations.AlterField(
            model_name='response',
            name='local_day',
            field=models.DateField(blank=True, help_text="submitted_at's date in the tenant's time zone: the day rollups bucket it in (METRICS.md). Filled on save; rewritten when the tenant changes time zone."),
        ),
    ]
