from django.db import migrations

from apps.tenancy.keys import TenantKeys


class Migration(migrations.Migration):

    # Every app's foreign keys become TenantForeignKeys (dropping their single-column constraints)
    # before any primary key turns into (tenant_id, id).
    dependencies = [
        ("accounts", "0005_tenant_foreign_keys"),
        ("clients", "0004_tenant_foreign_keys"),
        ("digests", "0004_tenant_foreign_keys"),
        ("feedback", "0005_tenant_foreign_keys"),
        ("imports", "0003_tenant_foreign_keys"),
        ("integrations", "0003_tenant_foreign_keys"),
        ("journeys", "0008_tenant_foreign_keys"),
        ("messaging", "0002_tenant_foreign_keys"),
        ("metrics", "0002_tenant_foreign_keys"),
        ("surveys", "0010_tenant_foreign_keys"),
        ("tenancy", "0006_tenant_foreign_keys"),
        ("touchpoints", "0003_tenant_foreign_keys"),
    ]

    operations = [
        TenantKeys("webhookendpoint"),
        TenantKeys("webhookdelivery"),
        TenantKeys("webhookattempt"),
    ]
