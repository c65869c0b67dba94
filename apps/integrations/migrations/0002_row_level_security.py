from django.db import migrations

from apps.tenancy.rls import EnableRLS


class Migration(migrations.Migration):
    dependencies = [("integrations", "0001_initial")]

    operations = [EnableRLS("webhookendpoint"), EnableRLS("webhookdelivery"), EnableRLS("webhookattempt")]
