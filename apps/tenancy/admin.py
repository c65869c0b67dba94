"""Django admin (platform operators, /ops/admin/): the global tenant registry only. Tenant-owned
rows are managed inside each tenant's own pages, where scoping and RLS apply."""

from django.contrib import admin

from apps.tenancy.models import Tenant


@admin.register(Tenant)
class TenantAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "time_zone", "locale", "is_active", "created_at"]
    list_filter = ["is_active", "locale"]
    search_fields = ["name", "slug"]
    readonly_fields = ["uuid", "created_at", "updated_at"]
