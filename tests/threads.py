"""Concurrent test bodies: each call in its own thread (and so its own database connection), closed after."""

from __future__ import annotations

import threading

from django.db import connection


def run_threads(calls, timeout: float = 90) -> None:
    """Run every (function, args) at once, each in its own thread; wait for all; fail with their exceptions."""
    errors = []

    def body(target, args):
        try:
            target(*args)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=body, args=call) for call in calls]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout)
    assert not errors, errors
    assert not any(t.is_alive() for t in threads), f"a thread still runs after {timeout} s"
