"""What the outbox tells the apps whose e-mails it carries (sent inside the delivery's transaction,
with the tenant active), and how they prepare their rows at SMTP time.

- `email_sent` (kwargs: email, sent_at): the SMTP server accepted the row's message.
- `email_failed` (kwargs: email, outcome): the row will not be sent; `outcome` is "failed" (gave up
  after the last attempt, or its content can no longer work), "bounced" (the address was refused
  for good) or "skipped" (not sent on purpose: opted out, no longer due).

`register_preparer(kind, prepare)`: the app that writes rows of `kind` with placeholders (a survey
link's token, say) fills them in at SMTP time. `prepare(email, parts)` edits `parts` in place, or
raises `NotSent(reason, outcome)` to stop the row.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from django.dispatch import Signal

email_sent = Signal()
email_failed = Signal()


class NotSent(Exception):
    def __init__(self, reason: str, *, outcome: str = "skipped"):
        super().__init__(reason)
        self.reason, self.outcome = reason, outcome


@dataclasses.dataclass
class Parts:
    """What goes over SMTP for one row, as a preparer may change it."""
    text: str
    html: str
    headers: dict
    from_email: str


_preparers: dict[str, Callable] = {}


def register_preparer(kind: str, prepare: Callable) -> None:
    _preparers[kind] = prepare


def preparer_for(kind: str) -> Callable | None:
    return _preparers.get(kind)
