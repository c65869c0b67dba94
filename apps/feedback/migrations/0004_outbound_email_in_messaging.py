"""Announcement recipients point at the outbox's new home (apps.messaging); the table and the foreign
key constraint are unchanged (state only)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("feedback", "0003_announcement_optout_token"),
        ("messaging", "0001_outbound_email_from_surveys"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=[
            migrations.AlterField(
                model_name="announcementrecipient",
                name="outbound_email",
                field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name="+", to="messaging.outboundemail"),
            ),
        ]),
    ]
