from django.db import migrations

from apps.tenancy.rls import EnableRLS


class Migration(migrations.Migration):
    dependencies = [("accounts", "0002_initial")]

    operations = [
        # An invitation link's token hash finds its row before the tenant is known.
        EnableRLS("membershipinvitation", lookups=["token_hash"]),
    ]
