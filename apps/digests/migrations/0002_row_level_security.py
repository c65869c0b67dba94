from django.db import migrations

from apps.tenancy.rls import EnableRLS


class Migration(migrations.Migration):
    dependencies = [("digests", "0001_initial")]

    operations = [EnableRLS("digestsubscription"), EnableRLS("digestsend")]
