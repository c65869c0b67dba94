from django.db import migrations

from apps.tenancy.rls import EnableRLS


class Migration(migrations.Migration):
    dependencies = [("tenancy", "0001_initial")]

    operations = [
        EnableRLS("team"),
        # Membership: a signed-in user may read their own rows in any tenant (the tenant switcher).
        EnableRLS("membership", lookups=["user"]),
        EnableRLS("auditevent"),
        # ApiKey: a Bearer token's prefix finds its row before the tenant is known.
        EnableRLS("apikey", lookups=["prefix"]),
    ]
