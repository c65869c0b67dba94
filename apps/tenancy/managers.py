from django.db import models

from apps.tenancy.context import get_current_tenant, in_schema_introspection, require_current_tenant


class TenantScopedQuerySet(models.QuerySet):
    pass


class TenantScopedManager(models.Manager.from_queryset(TenantScopedQuerySet)):
    """The default manager of every tenant-owned model: rows of the active tenant only.

    Fails closed: with no active tenant, building a queryset raises TenantNotActive. Because it
    is the *default* manager, get_object_or_404, ModelForm and DRF related fields, and reverse
    relations are all scoped too.
    """

    def get_queryset(self):
        if get_current_tenant() is None and in_schema_introspection():
            return super().get_queryset().none()
        tenant = require_current_tenant()
        return super().get_queryset().filter(tenant_id=tenant.pk)

    def none(self):
        # An empty queryset leaks nothing, so it needs no tenant (form field placeholders,
        # schema generation introspecting filters).
        return super().get_queryset().none()


class AllTenantsManager(models.Manager.from_queryset(TenantScopedQuerySet)):
    """The loudly named escape hatch (`Model.all_tenants`): no tenant filter at all.

    Only for tenancy internals, the Django admin, migrations, fan-out jobs and named maintenance
    commands. On Postgres, row-level security still applies to the app role.
    """
