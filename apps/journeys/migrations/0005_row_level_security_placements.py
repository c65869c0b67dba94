from django.db import migrations

from apps.tenancy.rls import EnableRLS


class Migration(migrations.Migration):
    dependencies = [("journeys", "0004_stagetouchpoint_touchpoint_and_more")]

    operations = [EnableRLS("stagetouchpoint")]
