"""Django's PostgreSQL backend, told that a tenant table's primary key is `(tenant_id, id)`.

Django groups a query by the primary key alone when it selects a model's columns (Postgres accepts
that when the grouped columns *are* the table's primary key). For tenant tables the key is
`(tenant_id, id)` (apps/tenancy/keys.py), so `GROUP BY id` alone is refused ("must appear in the GROUP
BY clause"): for them Django groups by every selected column instead. A bulk insert is a multi-row VALUES,
never UNNEST (compiler.py: what a Citus cluster can route under row-level security). Everything else is Django's.
Settings point a `postgres://` DATABASE_URL here (cxm/settings/base.py).
"""

from django.db.backends.postgresql import base, features, operations

from apps.tenancy.keys import is_tenant_model


class DatabaseFeatures(features.DatabaseFeatures):
    def allows_group_by_selected_pks_on_model(self, model):
        return super().allows_group_by_selected_pks_on_model(model) and not is_tenant_model(model)


class DatabaseOperations(operations.DatabaseOperations):
    compiler_module = "apps.tenancy.backends.postgresql.compiler"


class DatabaseWrapper(base.DatabaseWrapper):
    features_class = DatabaseFeatures
    ops_class = DatabaseOperations
