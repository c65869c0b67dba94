"""OutboundEmail moves from surveys to messaging without touching its rows: state only.

The table keeps its name (`surveys_outboundemail`, set as the model's db_table), so its data, its
indexes and its row-level-security policy (surveys 0002, EnableRLS) stay as they are. On Postgres the
one name derived from the app label, the tenant/uuid unique constraint, is renamed to match the new
state, and the content type row follows the model.
"""

import uuid

import django.db.models.deletion
from django.db import migrations, models

OLD_CONSTRAINT, NEW_CONSTRAINT = "surveys_outboundemail_tenant_uuid", "messaging_outboundemail_tenant_uuid"


def _rename_constraint(old, new):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(f'ALTER TABLE "surveys_outboundemail" RENAME CONSTRAINT "{old}" TO "{new}"')
    return run


def _move_content_type(old_app, new_app):
    def run(apps, schema_editor):
        ContentType = apps.get_model("contenttypes", "ContentType")
        if not ContentType.objects.filter(app_label=new_app, model="outboundemail").exists():
            ContentType.objects.filter(app_label=old_app, model="outboundemail").update(app_label=new_app)
    return run


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("surveys", "0008_outbound_email_password_reset"),
        ("tenancy", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="OutboundEmail",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                        ("updated_at", models.DateTimeField(auto_now=True)),
                        ("uuid", models.UUIDField(default=uuid.uuid4, editable=False)),
                        ("kind", models.CharField(choices=[("invitation", "Invitation"), ("reminder", "Reminder"), ("test", "Test"), ("case", "Case notification"), ("escalation", "Overdue case escalation"), ("digest", "Digest"), ("announcement", "You said, we did"), ("password_reset", "Password reset")], max_length=16)),
                        ("to_email", models.EmailField(max_length=254)),
                        ("subject", models.CharField(max_length=200)),
                        ("body_text", models.TextField()),
                        ("body_html", models.TextField(blank=True)),
                        ("message_id", models.CharField(max_length=200)),
                        ("status", models.CharField(choices=[("pending", "Pending"), ("sending", "Sending"), ("sent", "Sent"), ("failed", "Failed")], default="pending", max_length=16)),
                        ("attempts", models.PositiveSmallIntegerField(default=0)),
                        ("next_attempt_at", models.DateTimeField(blank=True, null=True)),
                        ("last_error", models.TextField(blank=True)),
                        ("sent_at", models.DateTimeField(blank=True, null=True)),
                        ("invitation", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name="emails", to="surveys.invitation")),
                        ("tenant", models.ForeignKey(db_index=False, editable=False, on_delete=django.db.models.deletion.CASCADE, related_name="+", to="tenancy.tenant")),
                    ],
                    options={
                        "db_table": "surveys_outboundemail",
                        "ordering": ["-created_at", "-id"],
                        "indexes": [models.Index(fields=["tenant", "status", "next_attempt_at"], name="surveys_outbound_due")],
                        "constraints": [models.UniqueConstraint(fields=("tenant", "uuid"), name=NEW_CONSTRAINT), models.UniqueConstraint(fields=("tenant", "message_id"), name="surveys_outbound_message_id")],
                    },
                ),
            ],
            database_operations=[
                migrations.RunPython(_rename_constraint(OLD_CONSTRAINT, NEW_CONSTRAINT), _rename_constraint(NEW_CONSTRAINT, OLD_CONSTRAINT)),
            ],
        ),
        migrations.RunPython(_move_content_type("surveys", "messaging"), _move_content_type("messaging", "surveys")),
    ]
