"""apps.metrics.stats: the METRICS.md worked checks, hand-computed blocks, and property tests
(hypothesis) on buckets of random responses. Pure functions: no database."""

import json
import math
from collections import defaultdict

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from apps.metrics import stats
from apps.metrics.buckets import Bucket

PROPERTY = settings(max_examples=150, deadline=None)
r1 = stats.round_half_away  # the blocks' rounding (half away from zero, one decimal)

maybe = st.none().__or__
responses_strategy = st.lists(
    st.fixed_dictionaries({
        "nps": maybe(st.integers(0, 10)), "csat": maybe(st.integers(1, 5)), "ces": maybe(st.integers(1, 7)),
        "smiley": maybe(st.integers(1, 3)), "enps": maybe(st.integers(0, 10)), "predicted": maybe(st.integers(0, 10)),
    }),
    max_size=60,
)


def bucket_of(responses) -> Bucket:
    return Bucket.merge(Bucket.of_response(**r) for r in responses)


def nps_bucket(promoters, passives, detractors) -> Bucket:
    return Bucket(nps_n=promoters + passives + detractors, nps_promoters=promoters, nps_passives=passives,
                  nps_detractors=detractors)


def ces_bucket(scores) -> Bucket:
    return Bucket(ces_n=len(scores), ces_sum=sum(scores), ces_sumsq=sum(s * s for s in scores),
                  ces_easy=sum(s >= 5 for s in scores))


def assert_contains(block, value_key="value"):
    value = block[value_key]
    if value is None or block["ci_low"] is None:
        assert block["ci_low"] is None
        assert block["ci_high"] is None
        return
    assert block["ci_low"] <= value <= block["ci_high"], block


# -- METRICS.md worked checks ------------------------------------------------------------------------


def test_it_reproduces_the_nps_worked_check():
    block = stats.nps_block(nps_bucket(200, 120, 80), min_n=30)
    assert block == {"value": 30.0, "n": 400, "promoters": 200, "passives": 120, "detractors": 80,
                     "ci_low": 22.2, "ci_high": 37.4, "low_sample": False}


def test_it_reproduces_the_nps_change_worked_check():
    current, previous = nps_bucket(200, 120, 80), nps_bucket(150, 126, 74)
    assert stats.nps_block(previous, 30)["value"] == 21.7
    assert stats.change("nps", current, previous) == {"delta": 8.3, "z": 1.46, "significant_change": False}
    assert stats.change("nps", previous, current) == {"delta": -8.3, "z": -1.46, "significant_change": False}


def test_it_reproduces_the_csat_worked_check():
    block = stats.csat_block(Bucket(csat_n=200, csat_top2=168, csat_bottom2=10, csat_sum=168 * 4 + 22 * 3 + 10 * 1), 10)
    assert (block["value"], block["ci_low"], block["ci_high"]) == (84.0, 78.3, 88.4)
    assert block["net"] == 79.0
    assert block["mean"] == 3.7  # (672 + 66 + 10) / 200 = 3.74


def test_wilson_matches_the_formula_and_its_limits():
    low, high = stats.wilson(168, 200)
    assert (round(100 * low, 1), round(100 * high, 1)) == (78.3, 88.4)
    assert stats.wilson(0, 0) == (0.0, 1.0)
    assert stats.wilson(0, 10)[0] == 0.0
    assert stats.wilson(10, 10)[1] == 1.0
    with pytest.raises(ValueError):
        stats.wilson(3, 2)


# -- hand-computed blocks ---------------------------------------------------------------------------


def test_it_computes_ces_with_a_t_interval():
    block = stats.ces_block(ces_bucket([4, 5, 6, 5]), min_n=10)
    # mean 5, s = sqrt(2/3), t(0.975, 3) = 3.1824 → 5 ± 1.299
    assert block == {"value": 5.0, "n": 4, "sum": 20, "sd": 0.8, "easy": 3, "pct_easy": 75.0,
                     "ci_low": 3.7, "ci_high": 6.3, "low_sample": True}


def test_it_clips_the_ces_interval_to_the_scale():
    block = stats.ces_block(ces_bucket([5, 6, 7]), min_n=1)  # 6 ± 4.30 × 1/√3 = 6 ± 2.48
    assert (block["ci_low"], block["ci_high"]) == (3.5, 7.0)


def test_it_computes_smiley_percent_happy_and_net():
    block = stats.smiley_block(Bucket(smiley_n=10, smiley_happy=6, smiley_neutral=1, smiley_sad=3), min_n=10)
    low, high = stats.wilson(6, 10)
    assert block == {"value": 60.0, "n": 10, "happy": 6, "neutral": 1, "sad": 3, "net": 30.0,
                     "ci_low": r1(100 * low), "ci_high": r1(100 * high), "low_sample": False}


def test_it_computes_enps_from_the_enps_fields_only():
    b = bucket_of([{"enps": 10}, {"enps": 9}, {"enps": 3}, {"enps": 8}, {"nps": 0}])
    block = stats.enps_block(b, min_n=30)
    assert (block["value"], block["n"], block["promoters"], block["passives"], block["detractors"]) == (25.0, 4, 2, 1, 1)
    assert block["low_sample"] is True


def test_it_computes_the_perception_gap_over_pairs_only():
    pairs = [(9, 6), (10, 10), (8, 3), (7, 9)]  # (predicted, actual): gaps 3, 0, 5, −2
    b = bucket_of([{"nps": a, "predicted": p} for p, a in pairs] + [{"nps": 0}, {"predicted": 10}])
    block = stats.gap_block(b, min_n=30)
    gaps = [3, 0, 5, -2]
    mean = sum(gaps) / 4
    sd = math.sqrt(sum((g - mean) ** 2 for g in gaps) / 3)
    half = stats.t_quantile(3) * sd / 2
    assert block == {"value": 1.5, "n": 4, "ci_low": r1(mean - half), "ci_high": r1(mean + half),
                     "perceived_nps": 50.0, "actual_nps": 0.0, "low_sample": True}


def test_it_computes_volatility_from_sums_in_sixths():
    # |Δ| of 10 and 20 points on the 0–100 scale are 60 and 120 sixths.
    block = stats.volatility_block(2, 60 + 120, 60 ** 2 + 120 ** 2, min_n=10)
    half = stats.t_quantile(1) * math.sqrt(50) / math.sqrt(2)
    assert block == {"value": 15.0, "n": 2, "ci_low": 0.0, "ci_high": r1(15 + half), "low_sample": True}
    assert stats.volatility_block(0, 0, 0, min_n=10) == {"value": None, "n": 0, "ci_low": None, "ci_high": None, "low_sample": True}
    assert stats.volatility_block(1, 25, 625, min_n=1)["value"] == pytest.approx(25 / 6, abs=0.05)


def test_it_computes_the_funnel():
    block = stats.funnel_block(invited=100, pending=5, bounced=3, failed=2, opened=60, responded=45, skipped=7)
    low, high = stats.wilson(45, 90)
    assert block == {"invited": 100, "delivered": 90, "opened": 60, "responded": 45, "bounced": 3, "failed": 2,
                     "pending": 5, "skipped": 7, "response_rate": 50.0, "ci_low": r1(100 * low),
                     "ci_high": r1(100 * high), "open_rate": 66.7}
    empty = stats.funnel_block(0, 0, 0, 0, 0, 0, 4)
    assert (empty["delivered"], empty["response_rate"], empty["ci_low"], empty["open_rate"]) == (0, None, None, None)


# -- edge cases: n = 0, n = 1, all one answer ----------------------------------------------------------


def test_an_empty_bucket_gives_no_values_and_no_nan():
    result = stats.summary(Bucket(), Bucket(), min_n_nps=30, min_n_other=10)
    json.dumps(result, allow_nan=False)
    for metric in stats.METRICS:
        block = result[metric]
        assert block["value"] is None
        assert block["ci_low"] is None
        assert block["ci_high"] is None
        assert block["n"] == 0
        assert block["low_sample"] is True
        assert block["change"] == {"delta": None, "z": None, "significant_change": None}
    assert result["responses"] == 0


@pytest.mark.parametrize("answer", range(11))
def test_a_single_nps_answer_has_an_interval_containing_it(answer):
    block = stats.nps_block(bucket_of([{"nps": answer}]), min_n=30)
    assert block["value"] in (100.0, 0.0, -100.0)
    assert_contains(block)


def test_the_adjusted_wald_rule_itself_is_unchanged_and_only_widened_at_n_1():
    # One promoter: the rule's interval is [−48.5, 98.5] (it centres on the adjusted estimate 25);
    # the block widens it to reach the observed 100. From n = 2 on the rule contains the value as is.
    low, high = stats.nps_interval(1, 0, 1)
    assert (round(low, 1), round(high, 1)) == (-48.5, 98.5)
    assert (stats.nps_block(nps_bucket(1, 0, 0), 30)["ci_low"], stats.nps_block(nps_bucket(1, 0, 0), 30)["ci_high"]) == (-48.5, 100.0)
    for n in range(2, 120):
        for p in range(n + 1):
            for d in range(n - p + 1):
                low, high = stats.nps_interval(p, d, n)
                assert low <= 100 * (p - d) / n <= high, (n, p, d)


@pytest.mark.parametrize("n", [1, 2, 3, 10, 400])
def test_all_promoters_all_detractors_all_happy_all_top2(n):
    for block in (stats._nps_block(nps_bucket(n, 0, 0), 30), stats._nps_block(nps_bucket(0, 0, n), 30),
                  stats._smiley_block(Bucket(smiley_n=n, smiley_happy=n), 10), stats._smiley_block(Bucket(smiley_n=n, smiley_sad=n), 10),
                  stats._csat_block(Bucket(csat_n=n, csat_top2=n, csat_sum=5 * n), 10),
                  stats._csat_block(Bucket(csat_n=n, csat_bottom2=n, csat_sum=n), 10),
                  stats._ces_block(ces_bucket([7] * n), 10), stats._ces_block(ces_bucket([1] * n), 10)):
        assert_contains(block)


def test_a_single_mean_answer_has_no_sd_and_no_interval():
    block = stats.ces_block(ces_bucket([6]), min_n=10)
    assert (block["value"], block["sd"], block["ci_low"], block["ci_high"], block["pct_easy"]) == (6.0, None, None, None, 100.0)
    gap = stats.gap_block(bucket_of([{"nps": 4, "predicted": 9}]), min_n=30)
    assert (gap["value"], gap["ci_low"], gap["perceived_nps"], gap["actual_nps"]) == (5.0, None, 100.0, -100.0)


def test_change_needs_two_answers_on_each_side():
    one, two = nps_bucket(1, 0, 0), nps_bucket(1, 0, 1)
    assert stats.change("nps", one, two) == {"delta": 100.0, "z": None, "significant_change": None}
    assert stats.change("ces", ces_bucket([7, 6]), ces_bucket([])) == {"delta": None, "z": None, "significant_change": None}


def test_change_is_undefined_when_neither_period_varies():
    assert stats.change("csat", Bucket(csat_n=5, csat_top2=5), Bucket(csat_n=5, csat_top2=0)) == {
        "delta": 100.0, "z": None, "significant_change": None}
    assert stats.change("ces", ces_bucket([7, 7]), ces_bucket([7, 7, 7]))["z"] is None


def test_change_flags_a_significant_difference():
    result = stats.change("csat", Bucket(csat_n=200, csat_top2=168), Bucket(csat_n=200, csat_top2=120))
    # p1 = .84, p2 = .60: SE = sqrt(.84·.16/200 + .6·.4/200) = .04327 → z = .24/.04327 = 5.55
    assert result == {"delta": 24.0, "z": 5.55, "significant_change": True}
    welch = stats.change("ces", ces_bucket([6, 7, 6, 7, 6, 7]), ces_bucket([2, 3, 2, 3, 2, 3]))
    assert welch["delta"] == 4.0
    assert welch["significant_change"] is True
    with pytest.raises(ValueError):
        stats.change("nope", Bucket(), Bucket())


def test_summary_carries_previous_period_and_change():
    current = bucket_of([{"nps": 10, "csat": 5, "ces": 6, "smiley": 3, "enps": 9, "predicted": 8}] * 40)
    previous = bucket_of([{"nps": 3, "csat": 2, "ces": 2, "smiley": 1, "enps": 2, "predicted": 9}] * 5
                         + [{"nps": 9, "csat": 4, "ces": 5, "smiley": 2, "enps": 7, "predicted": 6}] * 5)
    result = stats.summary(current, previous, min_n_nps=30, min_n_other=10)
    assert set(result) == {*stats.METRICS, "responses"}
    assert result["responses"] == 40
    assert result["nps"]["previous"] == {"value": 0.0, "n": 10}
    assert result["nps"]["change"]["delta"] == 100.0
    assert result["nps"]["low_sample"] is False
    assert result["csat"]["low_sample"] is False
    assert result["csat"]["previous"] == {"value": 50.0, "n": 10}
    blocks = stats.blocks(current, min_n_nps=30, min_n_other=10)
    for metric in stats.METRICS:
        assert {k: v for k, v in result[metric].items() if k not in ("previous", "change")} == blocks[metric]
    json.dumps(result, allow_nan=False)


# -- properties -------------------------------------------------------------------------------------


def oracle_bucket(responses) -> Bucket:
    """The bucket of a list of responses counted straight from METRICS.md, independently of of_response."""
    counts = defaultdict(int)
    for r in responses:
        counts["responses"] += 1
        for kind in ("nps", "enps"):
            if r[kind] is not None:
                counts[f"{kind}_n"] += 1
                counts[f"{kind}_promoters"] += r[kind] >= 9
                counts[f"{kind}_passives"] += r[kind] in (7, 8)
                counts[f"{kind}_detractors"] += r[kind] <= 6
        if r["csat"] is not None:
            c = r["csat"]
            counts["csat_n"] += 1
            counts["csat_top2"] += c >= 4
            counts["csat_bottom2"] += c <= 2
            counts["csat_sum"] += c
            counts["csat_sumsq"] += c * c
        if r["ces"] is not None:
            c = r["ces"]
            counts["ces_n"] += 1
            counts["ces_sum"] += c
            counts["ces_sumsq"] += c * c
            counts["ces_easy"] += c >= 5
        if r["smiley"] is not None:
            counts["smiley_n"] += 1
            counts[{1: "smiley_sad", 2: "smiley_neutral", 3: "smiley_happy"}[r["smiley"]]] += 1
        if r["nps"] is not None and r["predicted"] is not None:
            gap = r["predicted"] - r["nps"]
            counts["gap_n"] += 1
            counts["gap_sum"] += gap
            counts["gap_sumsq"] += gap * gap
            counts["gap_pred_promoters"] += r["predicted"] >= 9
            counts["gap_pred_detractors"] += r["predicted"] <= 6
            counts["gap_promoters"] += r["nps"] >= 9
            counts["gap_detractors"] += r["nps"] <= 6
    return Bucket(**{k: int(v) for k, v in counts.items()})


@PROPERTY
@given(responses=responses_strategy, data=st.data())
def test_merging_any_partition_equals_the_bucket_of_the_union(responses, data):
    labels = data.draw(st.lists(st.integers(0, 5), min_size=len(responses), max_size=len(responses)))
    parts = defaultdict(list)
    for label, response in zip(labels, responses, strict=True):
        parts[label].append(response)
    part_buckets = [bucket_of(part) for part in parts.values()]
    union = bucket_of(responses)
    assert Bucket.merge(part_buckets) == union
    assert Bucket.merge(reversed(part_buckets)) == union
    assert union == oracle_bucket(responses)
    assert stats.blocks(Bucket.merge(part_buckets), min_n_nps=30, min_n_other=10) == stats.blocks(union, min_n_nps=30, min_n_other=10)


INTERVAL_BOUNDS = {"nps": (-100, 100), "enps": (-100, 100), "csat": (0, 100), "smiley": (0, 100), "ces": (1, 7),
                   "perception_gap": (-10, 10)}


@PROPERTY
@given(responses=responses_strategy, min_n_nps=st.integers(0, 40), min_n_other=st.integers(0, 15))
def test_every_block_is_bounded_contains_its_value_and_flags_low_samples(responses, min_n_nps, min_n_other):
    b = bucket_of(responses)
    raw = stats._blocks(b, min_n_nps=min_n_nps, min_n_other=min_n_other)
    shown = stats.blocks(b, min_n_nps=min_n_nps, min_n_other=min_n_other)
    json.dumps(shown, allow_nan=False)
    for metric, (lower, upper) in INTERVAL_BOUNDS.items():
        for block in (raw[metric], shown[metric]):
            assert_contains(block)
            n = block["n"]
            assert (block["value"] is None) == (n == 0)
            if block["value"] is not None:
                assert lower <= block["value"] <= upper
                assert block["ci_low"] is None or lower <= block["ci_low"] <= block["ci_high"] <= upper
            assert block["low_sample"] == (n < (min_n_nps if metric in ("nps", "enps", "perception_gap") else min_n_other))
            if metric in ("ces", "perception_gap"):
                assert (block["ci_low"] is None) == (n < 2)
            elif n:
                assert block["ci_low"] is not None
    assert shown["responses"] == len(responses)


@PROPERTY
@given(p=st.integers(0, 3000), passives=st.integers(0, 3000), d=st.integers(0, 3000), min_n=st.integers(0, 5000))
def test_nps_is_in_range_and_its_interval_contains_it_at_any_size(p, passives, d, min_n):
    for block in (stats._nps_block(nps_bucket(p, passives, d), min_n), stats.nps_block(nps_bucket(p, passives, d), min_n)):
        if block["n"] == 0:
            assert block["value"] is None
            continue
        assert -100 <= block["ci_low"] <= block["value"] <= block["ci_high"] <= 100
        assert block["low_sample"] == (block["n"] < min_n)


@PROPERTY
@given(n=st.integers(1, 5000), data=st.data())
def test_wilson_contains_the_proportion(n, data):
    k = data.draw(st.integers(0, n))
    low, high = stats.wilson(k, n)
    assert 0 <= low <= high <= 1
    block = stats._smiley_block(Bucket(smiley_n=n, smiley_happy=k), 10)
    assert block["ci_low"] <= block["value"] <= block["ci_high"]


@PROPERTY
@given(deltas=st.lists(st.integers(0, 600), max_size=40), min_n=st.integers(0, 20))
def test_volatility_contains_its_mean(deltas, min_n):
    n, abs_sum, sq_sum = len(deltas), sum(deltas), sum(x * x for x in deltas)
    raw, shown = stats._volatility_block(n, abs_sum, sq_sum, min_n), stats.volatility_block(n, abs_sum, sq_sum, min_n)
    for block in (raw, shown):
        assert_contains(block)
        assert block["low_sample"] == (n < min_n)
        assert block["ci_low"] is None or 0 <= block["ci_low"] <= block["ci_high"] <= 100
    if n:
        assert raw["value"] == pytest.approx(abs_sum / 6 / n)
        assert shown["value"] == r1(abs_sum / 6 / n)


@PROPERTY
@given(counts=st.lists(st.integers(0, 500), min_size=7, max_size=7))
def test_the_funnel_rate_is_a_percentage_inside_its_interval(counts):
    invited, pending, bounced, failed, opened, responded, skipped = counts
    block = stats._funnel_block(invited, pending, bounced, failed, opened, responded, skipped)
    assert block["delivered"] >= 0
    json.dumps(stats.funnel_block(*counts), allow_nan=False)
    if block["delivered"]:
        assert block["ci_low"] <= block["response_rate"] <= block["ci_high"]
    else:
        assert block["response_rate"] is None
        assert block["ci_low"] is None


@PROPERTY
@given(a=responses_strategy, b=responses_strategy)
def test_change_is_antisymmetric(a, b):
    current, previous = bucket_of(a), bucket_of(b)
    for metric in stats.METRICS:
        forward, backward = stats._change(metric, current, previous), stats._change(metric, previous, current)
        if forward["delta"] is None:
            assert backward["delta"] is None
        else:
            assert forward["delta"] == pytest.approx(-backward["delta"])
        if forward["z"] is None:
            assert backward["z"] is None
            assert forward["significant_change"] is None
        else:
            assert forward["z"] == pytest.approx(-backward["z"])
            assert forward["significant_change"] == backward["significant_change"] == (abs(forward["z"]) >= 1.96)
        rounded = stats.change(metric, current, previous)
        json.dumps(rounded, allow_nan=False)
