"""A background job's progress as pages and their status endpoints show it (imports, survey sends):
the numbers the <progress> bar and static/js/progress.js read."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class Progress:
    status: str
    status_label: str
    phase_label: str
    done: int
    total: int
    finished: bool
    unit: str = "rows"

    @property
    def percent(self) -> int:
        return min(100, int(self.done * 100 / self.total)) if self.total else 0

    def as_json(self) -> dict:
        return {"status": self.status, "status_label": self.status_label, "phase": self.phase_label,
                "done": self.done, "total": self.total, "unit": self.unit, "percent": self.percent, "finished": self.finished}
