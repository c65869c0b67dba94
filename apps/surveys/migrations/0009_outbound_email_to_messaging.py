"""OutboundEmail now belongs to apps.messaging (its 0001 takes the model over, state only): removed
from this app's state, the table and its rows untouched."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("surveys", "0008_outbound_email_password_reset"),
        ("messaging", "0001_outbound_email_from_surveys"),
        ("feedback", "0004_outbound_email_in_messaging"),
        ("digests", "0003_outbound_email_in_messaging"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=[migrations.DeleteModel(name="OutboundEmail")]),
    ]
