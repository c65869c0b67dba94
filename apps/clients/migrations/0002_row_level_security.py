from django.db import migrations

from apps.tenancy.rls import EnableRLS


class Migration(migrations.Migration):
    dependencies = [("clients", "0001_initial")]

    operations = [EnableRLS("segment"), EnableRLS("client"), EnableRLS("contact")]
