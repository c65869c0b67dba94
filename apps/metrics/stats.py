"""Read-time statistics from merged buckets of sufficient statistics (../shared/docs/METRICS.md).

Pure functions, no database. Every block is computed from a `Bucket` (apps.metrics.buckets) or from
the raw sums of a rollup row, so any set of rollup rows can be merged first and derived once.

Conventions that hold for every function here:
- `n` is the number of answers with a value for that metric (METRICS.md "Counting rules"); n = 0
  gives `value` None and no interval; an interval needing a standard deviation (t-interval) is None
  below n = 2. Nothing returned is NaN or infinite: the dicts go to JSON as they are.
- Returned blocks are rounded half away from zero to one decimal (z statistics to two, as METRICS.md
  quotes them);
  counts stay integers. The unrounded blocks are the `_*_block` functions; rounding is monotone, so
  an unrounded interval containing its value stays so after rounding.
- Every interval contains its point estimate. The formulas guarantee it except (a) floating-point
  fuzz at the ends of Wilson intervals and (b) the adjusted-Wald NPS interval at n = 1, which centres
  on the adjusted estimate (one promoter: NPS 100, interval [−48.5, 98.5]). In both cases the block
  widens the interval just enough to include the value (`_covering`); for n ≥ 2 the NPS rule as
  written always contains it, so only n = 1 is affected.
- `low_sample` is `n < min_n` (METRICS.md: below the tenant's min-n the value is still returned,
  flagged). The caller passes the tenant's `min_n_nps` for NPS, eNPS and the perception gap (whose
  block is two NPS figures over the same pairs) and `min_n_other` for everything else (`blocks`).
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache

from scipy import stats as scipy_stats

from apps.metrics.buckets import Bucket

Z95 = 1.96
METRICS = ("nps", "csat", "ces", "smiley", "enps", "perception_gap")


# -- building blocks ---------------------------------------------------------------------------------


@lru_cache(maxsize=4096)
def t_quantile(df: int, level: float = 0.975) -> float:
    """Student's t quantile t(level, df) (scipy), cached: breakdowns ask for the same df many times."""
    return float(scipy_stats.t.ppf(level, df))


def wilson(k: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for the proportion k/n (METRICS.md CSAT rule; also smiley, response rate,
    churn), as proportions in [0, 1]. n = 0 gives (0, 1), the limit of the formula: nothing is known."""
    if n < 0 or not 0 <= k <= max(n, 0):
        raise ValueError(f"wilson needs 0 <= k <= n, got k={k}, n={n}")
    if n == 0:
        return 0.0, 1.0
    p = k / n
    z2 = z * z
    denominator = 1 + z2 / n
    centre = (p + z2 / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def nps_interval(promoters: int, detractors: int, n: int) -> tuple[float, float]:
    """The adjusted-Wald 95% interval for NPS (METRICS.md NPS rule; Rocks 2016), in NPS points:
    p̃ = (P + 0.75)/(n + 3), d̃ = (D + 0.75)/(n + 3), SE = sqrt((p̃ + d̃ − (p̃ − d̃)²)/(n + 3)),
    100 × ((p̃ − d̃) ± 1.96 SE), clipped to [−100, 100]. Exactly the rule, unrounded (the blocks round
    and, at n = 1 only, widen it to contain the observed NPS; see the module docstring)."""
    p = (promoters + 0.75) / (n + 3)
    d = (detractors + 0.75) / (n + 3)
    se = math.sqrt(max(0.0, (p + d - (p - d) ** 2) / (n + 3)))
    return max(-100.0, 100 * (p - d - Z95 * se)), min(100.0, 100 * (p - d + Z95 * se))


def nps_plain_se(promoters: int, detractors: int, n: int) -> float | None:
    """The plain (unadjusted) SE of NPS in points, sqrt((p + d − (p − d)²)/n) × 100 (METRICS.md NPS
    "Change between two periods"). Computed on integers, so it is never the root of a negative."""
    if n < 1:
        return None
    return 100 * math.sqrt(max(0, n * (promoters + detractors) - (promoters - detractors) ** 2)) / (n * math.sqrt(n))


def mean_sd(n: int, total: int | float, sumsq: int | float) -> tuple[float | None, float | None]:
    """Mean and sample standard deviation (n − 1) from n, Σx, Σx². With integer sums the variance
    (n Σx² − (Σx)²) / (n (n − 1)) is exact; sd is None below n = 2."""
    if n < 1:
        return None, None
    mean = total / n
    if n < 2:
        return mean, None
    return mean, math.sqrt(max(0, n * sumsq - total * total) / (n * (n - 1)))


def t_interval(n: int, mean: float | None, sd: float | None, *, lower: float, upper: float) -> tuple[float, float] | None:
    """95% t-interval mean ± t(0.975, n − 1) × s/√n (METRICS.md CES rule; also the perception gap and
    volatility), clipped to the range the mean can take ([lower, upper]; clipping keeps the mean
    inside). None below n = 2 (no standard deviation)."""
    if n < 2 or mean is None or sd is None:
        return None
    half = t_quantile(n - 1) * sd / math.sqrt(n)
    return max(lower, mean - half), min(upper, mean + half)


def _pct(k: int, n: int) -> float | None:
    return 100 * k / n if n else None


def _covering(interval: tuple[float, float] | None, value: float | None) -> tuple[float | None, float | None]:
    """The interval widened, if needed, to contain the point estimate (see the module docstring)."""
    if interval is None or value is None:
        return None, None
    low, high = interval
    return min(low, value), max(high, value)


def round_half_away(x: float | None, digits: int = 1) -> float | None:
    """Half away from zero on the shortest decimal form (22.25 → 22.3, −8.25 → −8.3, 0.15 → 0.2), as a
    person rounding the number would; monotone, so rounding never moves a value out of its interval."""
    if x is None or not math.isfinite(x):  # not finite cannot happen from the rules above; never NaN in JSON
        return None
    return float(Decimal(repr(x)).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)) + 0.0  # + 0.0: no -0.0


def rounded(block: dict) -> dict:
    """A block with its floats rounded to one decimal (z to two); ints, bools and None untouched."""
    out = {}
    for key, value in block.items():
        if isinstance(value, dict):
            out[key] = rounded(value)
        elif isinstance(value, float):
            out[key] = round_half_away(value, 2 if key == "z" else 1)
        else:
            out[key] = value
    return out


# -- unrounded blocks (tests check containment on these) -----------------------------------------------


def _nps_like_block(n: int, promoters: int, passives: int, detractors: int, min_n: int) -> dict:
    """NPS = 100 (P − D)/n with the adjusted-Wald interval (METRICS.md NPS rule)."""
    value = 100 * (promoters - detractors) / n if n else None
    low, high = _covering(nps_interval(promoters, detractors, n) if n else None, value)
    return {"value": value, "n": n, "promoters": promoters, "passives": passives, "detractors": detractors,
            "ci_low": low, "ci_high": high, "low_sample": n < min_n}


def _nps_block(b: Bucket, min_n: int) -> dict:
    return _nps_like_block(b.nps_n, b.nps_promoters, b.nps_passives, b.nps_detractors, min_n)


def _enps_block(b: Bucket, min_n: int) -> dict:
    return _nps_like_block(b.enps_n, b.enps_promoters, b.enps_passives, b.enps_detractors, min_n)


def _csat_block(b: Bucket, min_n: int) -> dict:
    n = b.csat_n
    value = _pct(b.csat_top2, n)
    low, high = _covering(tuple(100 * x for x in wilson(b.csat_top2, n)) if n else None, value)
    return {"value": value, "n": n, "top2": b.csat_top2, "bottom2": b.csat_bottom2,
            "mean": b.csat_sum / n if n else None,
            "net": 100 * (b.csat_top2 - b.csat_bottom2) / n if n else None,
            "ci_low": low, "ci_high": high, "low_sample": n < min_n}


def _ces_block(b: Bucket, min_n: int) -> dict:
    n = b.ces_n
    mean, sd = mean_sd(n, b.ces_sum, b.ces_sumsq)
    low, high = _covering(t_interval(n, mean, sd, lower=1.0, upper=7.0), mean)
    return {"value": mean, "n": n, "sum": b.ces_sum, "sd": sd, "easy": b.ces_easy, "pct_easy": _pct(b.ces_easy, n),
            "ci_low": low, "ci_high": high, "low_sample": n < min_n}


def _smiley_block(b: Bucket, min_n: int) -> dict:
    n = b.smiley_n
    value = _pct(b.smiley_happy, n)
    low, high = _covering(tuple(100 * x for x in wilson(b.smiley_happy, n)) if n else None, value)
    return {"value": value, "n": n, "happy": b.smiley_happy, "neutral": b.smiley_neutral, "sad": b.smiley_sad,
            "net": 100 * (b.smiley_happy - b.smiley_sad) / n if n else None,
            "ci_low": low, "ci_high": high, "low_sample": n < min_n}


def _gap_block(b: Bucket, min_n: int) -> dict:
    n = b.gap_n
    mean, sd = mean_sd(n, b.gap_sum, b.gap_sumsq)
    low, high = _covering(t_interval(n, mean, sd, lower=-10.0, upper=10.0), mean)
    return {"value": mean, "n": n, "ci_low": low, "ci_high": high,
            "perceived_nps": 100 * (b.gap_pred_promoters - b.gap_pred_detractors) / n if n else None,
            "actual_nps": 100 * (b.gap_promoters - b.gap_detractors) / n if n else None,
            "low_sample": n < min_n}


def _volatility_block(n: int, abs_sum: int, sq_sum: int, min_n: int) -> dict:
    # Inputs are in sixths of a point (TransitionRollup), so integer sums stay exact; /6 at the end.
    _, sd6 = mean_sd(n, abs_sum, sq_sum)
    mean = abs_sum / (6 * n) if n else None  # one division of exact integers: the correctly rounded mean
    sd = sd6 / 6 if sd6 is not None else None
    low, high = _covering(t_interval(n, mean, sd, lower=0.0, upper=100.0), mean)
    return {"value": mean, "n": n, "ci_low": low, "ci_high": high, "low_sample": n < min_n}


def _funnel_block(invited: int, pending: int, bounced: int, failed: int, opened: int, responded: int, skipped: int) -> dict:
    delivered = max(0, invited - bounced - failed - pending)
    rate = _pct(responded, delivered)
    interval = None
    if delivered:
        # Counts of one consistent snapshot never have responded > delivered; if the caller's counts
        # disagree, the interval is still defined (on min(responded, delivered)) and made to cover the rate.
        interval = tuple(100 * x for x in wilson(min(responded, delivered), delivered))
    low, high = _covering(interval, rate)
    return {"invited": invited, "delivered": delivered, "opened": opened, "responded": responded,
            "bounced": bounced, "failed": failed, "pending": pending, "skipped": skipped,
            "response_rate": rate, "ci_low": low, "ci_high": high, "open_rate": _pct(opened, delivered)}


# -- public blocks (rounded) ----------------------------------------------------------------------------


def nps_block(b: Bucket, min_n: int) -> dict:
    """NPS (METRICS.md "NPS"): promoters 9–10, passives 7–8, detractors 0–6, NPS = 100 (P − D)/n in
    [−100, 100], 95% adjusted-Wald interval (widened to contain the value at n = 1 only)."""
    return rounded(_nps_block(b, min_n))


def enps_block(b: Bucket, min_n: int) -> dict:
    """eNPS (METRICS.md NPS, last line): the NPS rule over the enps_* fields (employee-pulse surveys)."""
    return rounded(_enps_block(b, min_n))


def csat_block(b: Bucket, min_n: int) -> dict:
    """CSAT (METRICS.md "CSAT"): value = top-2-box % = 100 (count of 4 + 5)/n with the Wilson 95%
    interval in %; mean on 1–5; net = 100 (count of 4–5 − count of 1–2)/n."""
    return rounded(_csat_block(b, min_n))


def ces_block(b: Bucket, min_n: int) -> dict:
    """CES 2.0 (METRICS.md "CES"): value = mean score (1–7) with the 95% t-interval
    mean ± t(0.975, n − 1) s/√n (None below n = 2; clipped to [1, 7]); sd is the sample sd;
    pct_easy = 100 (count of 5–7)/n."""
    return rounded(_ces_block(b, min_n))


def smiley_block(b: Bucket, min_n: int) -> dict:
    """Smiley (METRICS.md "Smiley"): value = % happy = 100 happy/n with the Wilson 95% interval in %;
    net = 100 (happy − sad)/n."""
    return rounded(_smiley_block(b, min_n))


def gap_block(b: Bucket, min_n: int) -> dict:
    """Perception gap (METRICS.md "Perception gap"): value = mean(predicted − actual) in points over the
    pairs (positive = staff over-estimate), 95% t-interval (None below n = 2; clipped to [−10, 10]);
    perceived_nps = NPS of the predictions and actual_nps = NPS of the answers, over the same pairs."""
    return rounded(_gap_block(b, min_n))


def volatility_block(n: int, abs_sum: int, sq_sum: int, min_n: int) -> dict:
    """Interaction volatility (METRICS.md "Interaction volatility"): value = mean |Δ| between consecutive
    scores on the 0–100 scale, over n transitions. Inputs are TransitionRollup sums in sixths of a
    point (abs_sum = Σ 6|Δ|, sq_sum = Σ (6Δ)²), so value = abs_sum / (6 n). 95% t-interval on the mean
    |Δ| (None below n = 2; clipped to [0, 100])."""
    return rounded(_volatility_block(n, abs_sum, sq_sum, min_n))


def funnel_block(invited: int, pending: int, bounced: int, failed: int, opened: int, responded: int, skipped: int) -> dict:
    """Response funnel (METRICS.md "Response rate and funnel"). Reading applied: `invited` counts the
    invitations created for sending — skipped ones (never sent: opted out, fatigue, …) are reported
    beside it, not inside it; delivered = invited − bounced − failed − pending (METRICS.md's
    invited − bounced − failed, less those not sent yet, which cannot have been delivered); an expired
    invitation was delivered and not answered. response_rate = 100 responded/delivered with the Wilson
    95% interval in %; open_rate = 100 opened/delivered (opened as counted by the caller). Rates are
    None when nothing was delivered."""
    return rounded(_funnel_block(invited, pending, bounced, failed, opened, responded, skipped))


_BLOCKS = {"nps": _nps_block, "csat": _csat_block, "ces": _ces_block, "smiley": _smiley_block, "enps": _enps_block,
           "perception_gap": _gap_block}


def _min_n_for(metric: str, min_n_nps: int, min_n_other: int) -> int:
    return min_n_nps if metric in ("nps", "enps", "perception_gap") else min_n_other


def _blocks(b: Bucket, *, min_n_nps: int, min_n_other: int) -> dict:
    out = {metric: block(b, _min_n_for(metric, min_n_nps, min_n_other)) for metric, block in _BLOCKS.items()}
    out["responses"] = b.responses
    return out


def blocks(b: Bucket, *, min_n_nps: int, min_n_other: int) -> dict:
    """Every metric block of one merged bucket, plus the response count. NPS, eNPS and the perception
    gap are flagged against min_n_nps, CSAT, CES and smiley against min_n_other (METRICS.md counting
    rules: default 30 for NPS, 10 otherwise)."""
    return rounded(_blocks(b, min_n_nps=min_n_nps, min_n_other=min_n_other))


# -- change between two periods ----------------------------------------------------------------------


def _value_and_se(metric: str, b: Bucket) -> tuple[int, float | None, float | None]:
    """(n, value, SE of the value) on the scale the block shows."""
    if metric in ("nps", "enps"):
        prefix = "nps" if metric == "nps" else "enps"
        n, p, d = getattr(b, f"{prefix}_n"), getattr(b, f"{prefix}_promoters"), getattr(b, f"{prefix}_detractors")
        return n, (100 * (p - d) / n if n else None), nps_plain_se(p, d, n)
    if metric in ("csat", "smiley"):
        n, k = (b.csat_n, b.csat_top2) if metric == "csat" else (b.smiley_n, b.smiley_happy)
        if not n:
            return 0, None, None
        p = k / n
        return n, 100 * p, 100 * math.sqrt(p * (1 - p) / n)
    if metric in ("ces", "perception_gap"):
        n, total, sumsq = (b.ces_n, b.ces_sum, b.ces_sumsq) if metric == "ces" else (b.gap_n, b.gap_sum, b.gap_sumsq)
        mean, sd = mean_sd(n, total, sumsq)
        return n, mean, (sd / math.sqrt(n) if sd is not None else None)
    raise ValueError(f"unknown metric {metric!r}; expected one of {', '.join(METRICS)}")


def _change(metric: str, current: Bucket, previous: Bucket) -> dict:
    n1, v1, se1 = _value_and_se(metric, current)
    n2, v2, se2 = _value_and_se(metric, previous)
    delta = v1 - v2 if v1 is not None and v2 is not None else None
    z = None
    if n1 >= 2 and n2 >= 2 and delta is not None:
        denominator = math.sqrt(se1 ** 2 + se2 ** 2)
        if denominator > 0:
            z = delta / denominator
    return {"delta": delta, "z": z, "significant_change": abs(z) >= Z95 if z is not None else None}


def change(metric: str, current: Bucket, previous: Bucket) -> dict:
    """Change of one metric between two independent periods: delta = current − previous (on the block's
    scale: NPS points, percentage points, or mean score), z and significant_change = |z| ≥ 1.96.
    - nps / enps: METRICS.md NPS "Change between two periods": z = (NPS₁ − NPS₂)/sqrt(SE₁² + SE₂²)
      with the plain SE sqrt((p + d − (p − d)²)/n) × 100.
    - csat / smiley: two-proportion z on top-2-box / % happy, unpooled SE sqrt(p₁q₁/n₁ + p₂q₂/n₂).
    - ces / perception_gap: z on the means with the Welch SE sqrt(s₁²/n₁ + s₂²/n₂).
    delta needs a value on both sides (n ≥ 1); z and significant_change are None when either side has
    n < 2, and when neither side varies (SE₁ = SE₂ = 0: the z-test is undefined; never ±inf in JSON).
    z is rounded to two decimals (METRICS.md quotes z ≈ 1.46), delta to one."""
    return rounded(_change(metric, current, previous))


def summary(current: Bucket, previous: Bucket, *, min_n_nps: int, min_n_other: int) -> dict:
    """`blocks(current)` where each metric block also carries the previous equal-length period's
    {"value", "n"} and `change(metric, current, previous)` (METRICS.md NPS "Change between two
    periods" and the z-tests named in `change`)."""
    out = _blocks(current, min_n_nps=min_n_nps, min_n_other=min_n_other)
    before = _blocks(previous, min_n_nps=min_n_nps, min_n_other=min_n_other)
    for metric in METRICS:
        out[metric]["previous"] = {"value": before[metric]["value"], "n": before[metric]["n"]}
        out[metric]["change"] = _change(metric, current, previous)
    return rounded(out)
