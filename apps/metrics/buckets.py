"""A bucket of sufficient statistics (METRICS.md "Rollups") and the one place that says how one
response contributes to it. Buckets merge by addition, exactly; every number is derived from a
merged bucket at read time (apps.metrics.stats).

The SQL that builds stored buckets (apps.metrics.rollups) must agree with `Bucket.of_response`;
the tests hold them to it."""

from __future__ import annotations

from dataclasses import dataclass, fields

from apps.metrics.models import STAT_FIELDS


@dataclass(frozen=True, slots=True)
class Bucket:
    responses: int = 0
    nps_n: int = 0
    nps_promoters: int = 0
    nps_passives: int = 0
    nps_detractors: int = 0
    csat_n: int = 0
    csat_top2: int = 0
    csat_bottom2: int = 0
    csat_sum: int = 0
    csat_sumsq: int = 0
    ces_n: int = 0
    ces_sum: int = 0
    ces_sumsq: int = 0
    ces_easy: int = 0
    smiley_n: int = 0
    smiley_happy: int = 0
    smiley_neutral: int = 0
    smiley_sad: int = 0
    enps_n: int = 0
    enps_promoters: int = 0
    enps_passives: int = 0
    enps_detractors: int = 0
    gap_n: int = 0
    gap_sum: int = 0
    gap_sumsq: int = 0
    gap_pred_promoters: int = 0
    gap_pred_detractors: int = 0
    gap_promoters: int = 0
    gap_detractors: int = 0

    def __add__(self, other: Bucket) -> Bucket:
        return Bucket(*(getattr(self, f) + getattr(other, f) for f in STAT_FIELDS))

    def as_dict(self) -> dict[str, int]:
        return {f: getattr(self, f) for f in STAT_FIELDS}

    @classmethod
    def from_row(cls, row) -> Bucket:
        """From a stored rollup row (model instance) or a dict with the stat fields."""
        get = row.get if isinstance(row, dict) else (lambda name: getattr(row, name))
        return cls(*(int(get(f) or 0) for f in STAT_FIELDS))

    @classmethod
    def merge(cls, buckets) -> Bucket:
        total = cls()
        for bucket in buckets:
            total = total + bucket
        return total

    @classmethod
    def of_response(cls, *, nps=None, csat=None, ces=None, smiley=None, enps=None, predicted=None) -> Bucket:
        """One counted response's contribution. A skipped answer (None) adds nothing to that
        metric's n (METRICS.md counting rules); a perception-gap pair needs both a prediction and
        an actual NPS answer."""
        b = dict.fromkeys(STAT_FIELDS, 0)
        b["responses"] = 1
        if nps is not None:
            b["nps_n"] = 1
            b["nps_promoters"] = int(nps >= 9)
            b["nps_passives"] = int(7 <= nps <= 8)
            b["nps_detractors"] = int(nps <= 6)
            if predicted is not None:
                gap = predicted - nps
                b.update(gap_n=1, gap_sum=gap, gap_sumsq=gap * gap, gap_pred_promoters=int(predicted >= 9),
                         gap_pred_detractors=int(predicted <= 6), gap_promoters=int(nps >= 9), gap_detractors=int(nps <= 6))
        if csat is not None:
            b.update(csat_n=1, csat_top2=int(csat >= 4), csat_bottom2=int(csat <= 2), csat_sum=csat, csat_sumsq=csat * csat)
        if ces is not None:
            b.update(ces_n=1, ces_sum=ces, ces_sumsq=ces * ces, ces_easy=int(ces >= 5))
        if smiley is not None:
            b.update(smiley_n=1, smiley_happy=int(smiley == 3), smiley_neutral=int(smiley == 2), smiley_sad=int(smiley == 1))
        if enps is not None:
            b.update(enps_n=1, enps_promoters=int(enps >= 9), enps_passives=int(7 <= enps <= 8), enps_detractors=int(enps <= 6))
        return cls(**b)


assert tuple(f.name for f in fields(Bucket)) == STAT_FIELDS, "Bucket must mirror STAT_FIELDS"
