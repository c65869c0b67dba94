from django.db import migrations

from apps.tenancy.rls import EnableRLS


class Migration(migrations.Migration):
    dependencies = [("feedback", "0001_initial")]

    operations = [EnableRLS("rootcause"), EnableRLS("alertrule"), EnableRLS("case"), EnableRLS("casenote"), EnableRLS("actionplan"), EnableRLS("actionplancase"), EnableRLS("announcement"), EnableRLS("announcementrecipient")]
