"""A Celery worker killed with SIGKILL in the middle of a rollup rebuild (issue 18 item 7): the months it
had rebuilt are committed, the others are as they were, nothing is half-written; running the rebuild again
makes every stored row exact (the nightly reconciliation then finds 0 wrong rows)."""

from __future__ import annotations

import os
import random
import signal
import time
from datetime import UTC, datetime

import pytest
from django.db.models import F

from apps.metrics import rollups
from apps.metrics.models import ResponseCell, ResponseRollup, RollupRun
from apps.metrics.tasks import rollups_rebuild_task
from apps.tenancy.context import tenant_context
from tests.live_worker import live_worker
from tests.metrics_world import add_random_responses, make_metric_world

pytestmark = [pytest.mark.postgres, pytest.mark.services]

STALE = 1_000_000  # added to every stored count before the rebuild: a row still holding it was not rebuilt


def _stale(tenant) -> tuple[int, int]:
    with tenant_context(tenant):
        return (ResponseRollup.objects.filter(responses__gte=STALE).count(), ResponseRollup.objects.count())


def test_a_worker_killed_mid_rebuild_leaves_rollups_the_rerun_makes_exact(transactional_db, world):
    tenant = world.a
    w = make_metric_world(tenant, random.Random(18))
    add_random_responses(w, random.Random(19), 1500, start=datetime(2024, 1, 1, tzinfo=UTC), days=700)  # 23 months
    rollups.rollups_rebuild(tenant)
    with tenant_context(tenant):  # every stored row made visibly wrong, as stale rows would be
        ResponseRollup.objects.update(responses=F("responses") + STALE)
        ResponseCell.objects.update(responses=F("responses") + STALE)
    stale, total = _stale(tenant)
    assert stale == total > 0

    with live_worker() as worker:
        rollups_rebuild_task.apply_async(args=[tenant.pk], queue=worker)
        deadline = time.monotonic() + 60
        while _stale(tenant)[0] == total:  # the first month is committed: kill the worker at once
            assert time.monotonic() < deadline, "the rebuild did not start"
            time.sleep(0.005)
        os.kill(worker.pid, signal.SIGKILL)
        time.sleep(0.5)

    stale_after_kill, total_after_kill = _stale(tenant)
    assert 0 < stale_after_kill < total_after_kill, "killed in the middle: some months rebuilt, others not"
    with tenant_context(tenant):
        unfinished = RollupRun.objects.get(kind=RollupRun.Kind.REBUILD, finished_at__isnull=True)
    assert unfinished is not None  # the killed run says so

    rollups.rollups_rebuild(tenant)  # the rerun (the redelivered task, or the admin's rebuild)
    assert _stale(tenant)[0] == 0
    check = rollups.rollups_reconcile(tenant)
    assert (check.rows_wrong, check.days_repaired) == (0, [])
