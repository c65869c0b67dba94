"""After every `migrate` (run as the owner role), grant the app role what it needs and no more."""

from django.conf import settings
from django.db import connections
from django.db.models.signals import post_migrate
from django.dispatch import receiver

# Append-only tables: the app role may read and add rows, never change or remove them.
APPEND_ONLY_TABLES = ("tenancy_auditevent",)


def grant_app_role(using: str = "default") -> bool:
    connection = connections[using]
    role = settings.DATABASE_APP_ROLE
    if connection.vendor != "postgresql" or not role:
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user, EXISTS (SELECT 1 FROM pg_roles WHERE rolname = %s)", [role])
        current_user, exists = cursor.fetchone()
        if not exists or current_user == role:
            return False
        qrole = connection.ops.quote_name(role)
        cursor.execute(f"GRANT USAGE ON SCHEMA public TO {qrole}")
        cursor.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {qrole}")
        cursor.execute(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {qrole}")
        for table in APPEND_ONLY_TABLES:
            cursor.execute(f"REVOKE UPDATE, DELETE, TRUNCATE ON {connection.ops.quote_name(table)} FROM {qrole}")
    return True


@receiver(post_migrate, dispatch_uid="tenancy.grant_app_role")
def _grant_after_migrate(sender, using="default", **kwargs):
    if sender.label == "tenancy":
        grant_app_role(using)
