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


def write_bar(stdout, label: str, done: int, total: int, unit: str, width: int = 30) -> None:
    """A management command's progress line, rewritten in place: `label [#####.....] done/total unit`.
    `stdout` is the command's OutputWrapper (written unbuffered, without its line ending)."""
    import sys

    filled = width * done // max(total, 1)
    stream = getattr(stdout, "_out", sys.stdout)
    stream.write(f"\r{label:<20} [{'#' * filled}{'.' * (width - filled)}] {done}/{total} {unit}")
    stream.flush()
