"""A metric's tile (apps.reports.panels.Tile) from a summary block of apps.metrics.stats.summary:
its value written as METRICS.md says (NPS as an integer, percentages as integers, means to one decimal),
n, interval, the previous period and a change marker only when the change is significant."""

from __future__ import annotations

from apps.metrics.explanations import explain
from apps.reports.panels import Table, Tile, interval, number

METRIC_NAMES = {"nps": "NPS", "csat": "CSAT", "ces": "CES", "smiley": "% happy", "enps": "eNPS", "perception_gap": "Perception gap"}
# How a metric's value is written in tiles: NPS as an integer (METRICS.md), percentages as integers, means to one decimal.
_UNIT = {"nps": "", "enps": "", "csat": "%", "smiley": "%", "ces": " / 7", "perception_gap": " pts"}
_DIGITS = {"nps": 0, "enps": 0, "csat": 0, "smiley": 0, "ces": 1, "perception_gap": 1}
# Which direction is better (perception gap: closer to 0 is better, so no arrow colour).
HIGHER_IS_BETTER = {"nps": True, "enps": True, "csat": True, "smiley": True, "ces": True, "perception_gap": None}


def metric_tile(metric: str, block: dict, *, min_n: int, previous_label: str = "previous period", table_id: str = "") -> Tile:
    """A tile from a summary block of apps.metrics.stats.summary (value, n, ci, previous, change)."""
    digits, unit = _DIGITS[metric], _UNIT[metric]
    value = block.get("value")
    n = block.get("n", 0)
    previous = block.get("previous") or {}
    change = block.get("change") or {}
    significant = bool(change.get("significant_change"))
    delta = change.get("delta")
    direction = ("up" if delta > 0 else "down") if significant and delta else ""
    higher = HIGHER_IS_BETTER[metric]
    better = None if not direction or higher is None else (direction == "up") == higher
    previous_text = ""
    if previous:
        previous_text = (f"{number(previous.get('value'), digits)}{unit if previous.get('value') is not None else ''} in the "
                         f"{previous_label} (n = {number(previous.get('n', 0))})")
    change_text = ""
    if delta is not None:
        verdict = "significant (|z| ≥ 1.96)" if significant else "not significant"
        if change.get("z") is None:
            verdict = "too few answers to test"
        change_text = f"{number(delta, max(digits, 1), signed=True)} vs the {previous_label}: {verdict}"
    extra = []
    if metric == "csat" and block.get("mean") is not None:
        extra.append(f"Mean {number(block['mean'], 1)} / 5 · net {number(block.get('net'), 0, signed=True)}")
    if metric == "ces" and block.get("pct_easy") is not None:
        extra.append(f"{number(block['pct_easy'], 0)}% found it easy (5–7)")
    if metric in ("nps", "enps") and n:
        extra.append(f"{number(block['promoters'])} promoters · {number(block['passives'])} passives · "
                     f"{number(block['detractors'])} detractors")
    if metric == "perception_gap" and block.get("perceived_nps") is not None:
        extra.append(f"Perceived NPS {number(block['perceived_nps'], 0)} vs actual {number(block.get('actual_nps'), 0)}")
    low = bool(block.get("low_sample"))
    rows = [("Value", value), ("n", n), ("95% CI low", block.get("ci_low")), ("95% CI high", block.get("ci_high"))]
    if previous:
        rows += [("Previous value", previous.get("value")), ("Previous n", previous.get("n"))]
    if change:
        rows += [("Change", delta), ("z", change.get("z")), ("Significant", change.get("significant_change"))]
    return Tile(
        id=metric, label=METRIC_NAMES[metric], value=(number(value, digits) + unit) if value is not None else "—", n=n,
        interval=interval(block.get("ci_low"), block.get("ci_high"), digits), explanation=explain(metric),
        table=Table(id=table_id or f"tile-{metric}", title=METRIC_NAMES[metric], columns=("Reading", "Value"), rows=tuple(rows)),
        previous=previous_text, change=change_text, significant=significant, direction=direction, better=better,
        low_sample=low, low_sample_reason=(f"n = {n} is below this workspace's minimum of {min_n} answers: the value is unreliable."
                                           if low else ""),
        extra=tuple(extra),
    )


def min_n_for(tenant, metric: str) -> int:
    return tenant.min_n_nps if metric in ("nps", "enps", "perception_gap") else tenant.min_n_other
