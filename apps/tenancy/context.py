"""The active tenant: a ContextVar plus Postgres' transaction-local `app.tenant_id` setting.

Activation always happens inside a transaction, with `SET LOCAL`, so the database setting dies with
the transaction and never leaks to the next user of a pooled connection. `SET LOCAL` (not
`set_config(..., true)`) because on Citus only it reaches the worker nodes, with
`citus.propagate_set_commands = 'local'` for the app role (scripts/citus_cluster.sh). Citus forgets a
`SET LOCAL` made inside a savepoint once the savepoint is released, so a nested `tenant_context()`
sets the enclosing tenant again *after* its savepoint ends. Entry points activate exactly once and
reset in `finally`:

- pages: `apps.tenancy.middleware.TenantMiddleware`
- API: `apps.tenancy.api.TenantApi.initial()` (after authentication)
- Celery: `apps.tenancy.tasks.tenant_task`
- commands, shells, tests: `tenant_context()`
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING

from django.db import DatabaseError, connection, transaction
from django.db.transaction import TransactionManagementError

if TYPE_CHECKING:
    from apps.tenancy.models import Tenant

TENANT_GUC = "app.tenant_id"

_current_tenant: ContextVar[Tenant | None] = ContextVar("cxm_current_tenant", default=None)
_schema_introspection: ContextVar[bool] = ContextVar("cxm_schema_introspection", default=False)


class TenantNotActive(RuntimeError):
    """Raised by tenant-scoped managers when no tenant is active: scoping fails closed."""


class CrossTenantWrite(RuntimeError):
    """Raised when saving a row of one tenant while another tenant is active."""


def get_current_tenant() -> Tenant | None:
    return _current_tenant.get()


def require_current_tenant() -> Tenant:
    tenant = _current_tenant.get()
    if tenant is None:
        raise TenantNotActive(
            "No tenant is active. Activate one with tenant_context(), or use the loudly named "
            "`all_tenants` manager where crossing tenants is intended."
        )
    return tenant


def in_schema_introspection() -> bool:
    return _schema_introspection.get()


@contextmanager
def schema_introspection_without_tenant() -> Iterator[None]:
    """OpenAPI generation builds querysets to learn field types, with no tenant. Inside this block
    tenant-scoped managers hand out *empty* querysets instead of raising: nothing can leak."""
    token = _schema_introspection.set(True)
    try:
        yield
    finally:
        _schema_introspection.reset(token)


_SETTING_NAME = re.compile(r"app\.[a-z_]+")


def _set_guc(name: str, value: str) -> None:
    if connection.vendor != "postgresql":
        return
    if not connection.in_atomic_block:
        raise TransactionManagementError(f"{name} must be set inside a transaction.")
    if not _SETTING_NAME.fullmatch(name):
        raise ValueError(f"Not a setting of ours: {name!r}")
    with connection.cursor() as cursor:
        # The name is one of ours (checked above); the value goes through the driver's quoting.
        cursor.execute(f"SET LOCAL {name} TO %s", [value])


def _restore_guc(name: str, value: str) -> None:
    """Best effort: a broken transaction is about to roll back, taking the setting with it."""
    if connection.vendor != "postgresql" or not connection.in_atomic_block or connection.needs_rollback:
        return
    try:
        _set_guc(name, value)
    except (DatabaseError, TransactionManagementError):
        pass


@contextmanager
def tenant_context(tenant: Tenant) -> Iterator[Tenant]:
    """Run the block as `tenant`, inside a transaction (a savepoint if one is already open).

    Nesting is allowed (a command acting on several tenants in turn); the enclosing tenant is
    restored on exit, in Python and in the database.
    """
    if tenant is None or tenant.pk is None:
        raise TenantNotActive("tenant_context() needs a saved tenant.")
    previous = _current_tenant.get()
    token = _current_tenant.set(tenant)
    try:
        with transaction.atomic():
            _set_guc(TENANT_GUC, str(tenant.pk))
            yield tenant
    finally:
        _current_tenant.reset(token)
        # After the block's savepoint is released (or rolled back): the enclosing transaction, if any,
        # gets its own tenant again (or none), on the coordinator and on every worker.
        _restore_guc(TENANT_GUC, str(previous.pk) if previous is not None else "")


def lookup_guc(column: str) -> str:
    return f"app.lookup_{column}"


def rows_by_key_including_cross_tenant(model, column: str, value) -> list:
    """Rows of a tenant-scoped `model` whose `column` equals `value`, in whichever tenant they are.

    For the few lookups that must happen *before* a tenant is known: a Bearer key by its prefix,
    a user's memberships (to list the tenants they may switch to), an invitation by its token
    hash. On Postgres this works only for columns whose table has the matching RLS lookup policy
    (`EnableRLS(..., lookups=[column])`): the app role can read exactly the rows that match the
    secret or identity it already holds, nothing else.
    """
    guc = lookup_guc(column)
    try:
        with transaction.atomic():
            _set_guc(guc, str(value))
            return list(model.all_tenants.filter(**{column: value}).select_related("tenant"))
    finally:
        _restore_guc(guc, "")
