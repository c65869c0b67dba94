"""Probe tasks for tests/test_celery_worker.py, loaded only by the worker that test starts
(`celery -A tests.celery_probe`). They report what a task can see, nothing more."""

import os

import django
from celery import shared_task

from cxm.celery import app  # noqa: F401  (the app the worker runs)

django.setup()  # the worker imports this module before Celery's Django fix-up sets Django up

from django.db import connection, transaction  # noqa: E402

from apps.tenancy.context import TenantNotActive, get_current_tenant  # noqa: E402
from apps.tenancy.models import Membership  # noqa: E402
from apps.tenancy.tasks import tenant_task  # noqa: E402


def _raw_membership_count() -> int:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM tenancy_membership")
        return cursor.fetchone()[0]


def _backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


@tenant_task(name="tests.probe_as_tenant")
def probe_as_tenant(tenant):
    return {
        "pid": os.getpid(),
        "backend_pid": _backend_pid(),
        "tenant": tenant.slug,
        "orm_emails": sorted(Membership.objects.values_list("user__email", flat=True)),
        "orm_tenants": sorted(set(Membership.objects.values_list("tenant_id", flat=True))),
        "raw_count": _raw_membership_count(),
    }


@shared_task(name="tests.probe_without_tenant")
def probe_without_tenant():
    try:
        list(Membership.objects.all())
        orm = "visible"
    except TenantNotActive:
        orm = "raised"
    return {"pid": os.getpid(), "backend_pid": _backend_pid(),
            "active": repr(get_current_tenant()), "orm": orm, "raw_count": _raw_membership_count(),
            "all_tenants_raw": Membership.all_tenants.count()}
