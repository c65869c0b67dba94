from django.db import migrations

from apps.tenancy.rls import EnableRLS


class Migration(migrations.Migration):
    dependencies = [("surveys", "0001_initial")]

    operations = [
        # A public web link finds its survey before the tenant is known (the token is public by design).
        EnableRLS("survey", lookups=["web_token"]),
        # A surveyed contact's link carries only the invitation's token: its hash finds the row.
        EnableRLS("invitation", lookups=["token_hash"]),
        EnableRLS("surveyversion"),
        EnableRLS("question"),
        EnableRLS("outboundemail"),
        # A kiosk's key finds its device (and so its tenant) by the key's hash.
        EnableRLS("kioskdevice", lookups=["key_hash"]),
        EnableRLS("response"),
        EnableRLS("answer"),
        EnableRLS("tag"),
        EnableRLS("responsetag"),
    ]
