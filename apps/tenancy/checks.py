"""System checks of the tenant rules that code can break (apps/tenancy/keys.py)."""

from __future__ import annotations

from django.apps import apps
from django.core import checks
from django.db import models

from apps.tenancy.keys import TenantForeignKey, is_tenant_model


@checks.register(checks.Tags.models)
def tenant_foreign_keys_check(app_configs=None, **kwargs):
    return plain_tenant_foreign_keys(apps.get_models())


def plain_tenant_foreign_keys(models_to_check) -> list[checks.Error]:
    """tenancy.E001: a foreign key between two tenant models must be a TenantForeignKey."""
    errors = []
    for model in models_to_check:
        if not is_tenant_model(model):
            continue
        for field in model._meta.local_fields:
            if (isinstance(field, models.ForeignKey) and not isinstance(field, TenantForeignKey)
                    and field.name != "tenant" and is_tenant_model(field.related_model)):
                errors.append(checks.Error(
                    f"{model._meta.label}.{field.name} is a plain ForeignKey to the tenant model "
                    f"{field.related_model._meta.label}.",
                    hint="Use apps.tenancy.keys.TenantForeignKey (joins match on tenant_id; the composite "
                         "foreign key comes from TenantKeys in the migration).",
                    obj=field, id="tenancy.E001",
                ))
    return errors
