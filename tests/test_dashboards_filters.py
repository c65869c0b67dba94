"""apps.dashboards.filters, the filter bar of every analytical page (issue 7 "Behaviour").

Presets resolve to the right tenant-local days (month/quarter/year edges, "today" in the tenant's zone);
a custom range needs both days; reversed, too long and malformed ranges, unknown choices and another
tenant's uuids are form errors, never exceptions; `staff=` forces the staff filter and hides its field;
`fields=` limits what a page applies; the API parses `api_params()` to the same filters; the query string
round-trips to the same state.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from django.template.loader import render_to_string
from django.test import RequestFactory

from apps.dashboards.filters import ALL_FIELDS, DEFAULT_PRESET, PRESETS, dashboard_filters, preset_range
from apps.metrics.params import MetricFilters, parse_filters
from apps.tenancy.context import tenant_context
from tests.factories import JourneyFactory, SegmentFactory, StageFactory, SurveyFactory, TouchpointFactory

pytestmark = pytest.mark.django_db

TODAY = date(2025, 5, 14)
UUID_FIELDS = ("journey", "stage", "touchpoint", "segment", "survey", "staff")


@pytest.fixture
def catalog(world):
    """One of each filterable thing in A and in B (same names on purpose), and the staff of A."""
    out = {}
    for key, tenant in (("a", world.a), ("b", world.b)):
        journey = JourneyFactory(tenant=tenant, name="Onboarding")
        out[key] = {
            "journey": journey,
            "stage": StageFactory(journey=journey, name="Welcome call"),
            "touchpoint": TouchpointFactory(tenant=tenant, name="Checkout"),
            "segment": SegmentFactory(tenant=tenant, name="Enterprise"),
            "survey": SurveyFactory(tenant=tenant, name="After the call"),
        }
    out["a"]["staff"] = world.membership(world.bob, world.a)
    out["b"]["staff"] = world.membership(world.charlie, world.b)
    return out


def parse(tenant, query=None, *, fields=ALL_FIELDS, staff=None, today=TODAY, render=False):
    request = RequestFactory().get("/t/x/dashboards/", query or {})
    request.tenant = tenant
    with tenant_context(tenant):
        state = dashboard_filters(request, fields=fields, staff=staff, today=today)
        if render:  # the bar as the page shows it (querysets of the choices are read here)
            return state, render_to_string("dashboards/partials/_filters.html", {"state": state, "request": request})
    return state


def days(state) -> tuple[date, date]:
    return state.filters.first, state.filters.last


def uuid_of(obj) -> str:
    return str(obj.uuid)


# --- presets --------------------------------------------------------------------------------------

def test_default_is_the_last_30_days_ending_today(world):
    state = parse(world.a)
    assert state.valid
    assert state.preset == DEFAULT_PRESET == "30d"
    assert days(state) == (TODAY - timedelta(days=29), TODAY)
    assert state.filters.days == 30


@pytest.mark.parametrize(("preset", "first"), [("7d", date(2025, 5, 8)), ("30d", date(2025, 4, 15)), ("90d", date(2025, 2, 14)),
                                               ("mtd", date(2025, 5, 1)), ("qtd", date(2025, 4, 1)), ("ytd", date(2025, 1, 1))])
def test_each_preset_ends_today(world, preset, first):
    state = parse(world.a, {"period": preset})
    assert state.valid
    assert state.preset == preset
    assert days(state) == (first, TODAY)


@pytest.mark.parametrize(("today", "mtd", "qtd", "ytd"), [
    (date(2025, 1, 1), date(2025, 1, 1), date(2025, 1, 1), date(2025, 1, 1)),  # first day of everything: one day
    (date(2025, 3, 31), date(2025, 3, 1), date(2025, 1, 1), date(2025, 1, 1)),  # last day of Q1
    (date(2025, 4, 1), date(2025, 4, 1), date(2025, 4, 1), date(2025, 1, 1)),  # first day of Q2
    (date(2025, 6, 30), date(2025, 6, 1), date(2025, 4, 1), date(2025, 1, 1)),
    (date(2025, 7, 1), date(2025, 7, 1), date(2025, 7, 1), date(2025, 1, 1)),
    (date(2025, 9, 30), date(2025, 9, 1), date(2025, 7, 1), date(2025, 1, 1)),
    (date(2025, 10, 1), date(2025, 10, 1), date(2025, 10, 1), date(2025, 1, 1)),
    (date(2024, 2, 29), date(2024, 2, 1), date(2024, 1, 1), date(2024, 1, 1)),  # leap day
    (date(2025, 12, 31), date(2025, 12, 1), date(2025, 10, 1), date(2025, 1, 1)),
])
def test_to_date_presets_at_period_edges(world, today, mtd, qtd, ytd):
    for preset, first in (("mtd", mtd), ("qtd", qtd), ("ytd", ytd)):
        assert preset_range(preset, today) == (first, today), preset
        assert days(parse(world.a, {"period": preset}, today=today)) == (first, today), preset


def test_rolling_presets_count_today_as_their_last_day():
    for preset, n in (("7d", 7), ("30d", 30), ("90d", 90)):
        first, last = preset_range(preset, date(2025, 3, 2))
        assert last == date(2025, 3, 2)
        assert (last - first).days + 1 == n
    assert preset_range("30d", date(2024, 3, 1))[0] == date(2024, 2, 1)  # across a leap February
    with pytest.raises(ValueError):
        preset_range("custom", TODAY)


def test_today_is_the_tenants_local_day(world, monkeypatch):
    """At 23:30 UTC on 31 March 2025 it is already 1 April in Brussels (UTC+2) and still 31 March in New York."""
    from django.utils import timezone

    monkeypatch.setattr(timezone, "now", lambda: datetime(2025, 3, 31, 23, 30, tzinfo=UTC))
    brussels = {p: days(parse(world.a, {"period": p}, today=None)) for p in ("7d", "mtd", "qtd", "ytd")}
    new_york = {p: days(parse(world.b, {"period": p}, today=None)) for p in ("7d", "mtd", "qtd", "ytd")}
    assert brussels == {"7d": (date(2025, 3, 26), date(2025, 4, 1)), "mtd": (date(2025, 4, 1), date(2025, 4, 1)),
                        "qtd": (date(2025, 4, 1), date(2025, 4, 1)), "ytd": (date(2025, 1, 1), date(2025, 4, 1))}
    assert new_york == {"7d": (date(2025, 3, 25), date(2025, 3, 31)), "mtd": (date(2025, 3, 1), date(2025, 3, 31)),
                        "qtd": (date(2025, 1, 1), date(2025, 3, 31)), "ytd": (date(2025, 1, 1), date(2025, 3, 31))}


def test_the_date_inputs_show_the_days_the_preset_resolved_to(world):
    state = parse(world.a, {"period": "mtd", "from": "2020-01-01", "to": "2020-02-01"})
    assert days(state) == (date(2025, 5, 1), TODAY)  # a preset wins over typed days…
    assert (state.form.data["from"], state.form.data["to"]) == ("2025-05-01", "2025-05-14")  # …and the inputs say so
    assert state.period_label == "Month to date (1 May 2025 – 14 May 2025)"


# --- custom ranges and refused input ---------------------------------------------------------------

def test_custom_range_with_both_days(world):
    state = parse(world.a, {"period": "custom", "from": "2024-12-01", "to": "2025-01-31"})
    assert state.valid
    assert state.preset == "custom"
    assert days(state) == (date(2024, 12, 1), date(2025, 1, 31))
    assert state.period_label == "1 Dec 2024 – 31 Jan 2025"
    one_day = parse(world.a, {"period": "custom", "from": "2025-02-03", "to": "2025-02-03"})
    assert days(one_day) == (date(2025, 2, 3), date(2025, 2, 3))
    assert one_day.period_label == "3 Feb 2025"


def test_days_without_a_preset_mean_custom(world):
    state = parse(world.a, {"from": "2025-01-01", "to": "2025-01-07"})
    assert state.valid
    assert state.preset == "custom"
    assert days(state) == (date(2025, 1, 1), date(2025, 1, 7))


@pytest.mark.parametrize(("query", "field"), [
    ({"period": "custom", "from": "2025-01-01"}, "to"),
    ({"period": "custom", "to": "2025-01-01"}, "from"),
    ({"period": "custom"}, "from"),
    ({"from": "2025-01-01"}, "to"),
    ({"to": "2025-01-01"}, "from"),
])
def test_custom_range_needs_both_days(world, query, field):
    state = parse(world.a, query)
    assert not state.valid
    assert state.filters is None
    assert state.form.errors[field] == ["A custom range needs both a first and a last day."]


@pytest.mark.parametrize(("query", "field", "words"), [
    ({"period": "custom", "from": "2025-02-01", "to": "2025-01-01"}, "from", "is after"),  # reversed
    ({"period": "custom", "from": "2015-01-01", "to": "2025-01-01"}, "to", "at most 5 years"),  # too long
    ({"period": "custom", "from": "2020-01-01", "to": "2025-01-01"}, "to", "at most 5 years"),  # exactly five years: one day too many
    ({"period": "custom", "from": "2025-13-01", "to": "2025-01-01"}, "from", "valid date"),
    ({"period": "custom", "from": "2025-02-30", "to": "2025-03-01"}, "from", "valid date"),
    ({"period": "custom", "from": "yesterday", "to": "2025-01-01"}, "from", "valid date"),
    ({"period": "custom", "from": "2025-01-01", "to": "2025-01-01T00:00"}, "to", "valid date"),
    ({"period": "custom", "from": "1899-12-31", "to": "1900-01-02"}, "from", "between 1900-01-01 and 2999-12-31"),
    ({"period": "custom", "from": "2999-12-30", "to": "3000-01-01"}, "to", "between 1900-01-01 and 2999-12-31"),
    ({"period": "fortnight"}, "period", "valid choice"),
    ({"channel": "carrier-pigeon"}, "channel", "valid choice"),
])
def test_bad_ranges_are_errors_not_exceptions(world, query, field, words):
    state, html = parse(world.a, query, render=True)
    assert not state.valid
    assert state.filters is None
    assert any(words in message for message in state.form.errors[field]), state.form.errors
    assert all("`" not in message for messages in state.form.errors.values() for message in messages)  # API markup dropped
    assert "field--error" in html
    assert words.split()[0] in html  # the bar shows it
    assert state.params() == {k: v for k, v in query.items() if v}  # the input is kept to be corrected


def test_five_years_less_a_day_is_accepted(world):
    state = parse(world.a, {"period": "custom", "from": "2020-01-02", "to": "2025-01-01"})
    assert state.valid
    assert days(state) == (date(2020, 1, 2), date(2025, 1, 1))


@pytest.mark.parametrize("name", UUID_FIELDS)
def test_another_tenants_uuid_is_refused_like_a_missing_one(world, catalog, name):
    foreign = parse(world.a, {name: uuid_of(catalog["b"][name])})
    missing = parse(world.a, {name: str(uuid.uuid4())})
    assert not foreign.valid
    assert not missing.valid
    assert foreign.form.errors == missing.form.errors
    assert list(foreign.form.errors) == [name]
    assert uuid_of(catalog["b"][name]) not in str(foreign.form.errors)
    own = parse(world.a, {name: uuid_of(catalog["a"][name])})
    assert own.valid
    assert getattr(own.filters, name) == catalog["a"][name].pk
    assert own.filters.uuids == {name: uuid_of(catalog["a"][name])}


@pytest.mark.parametrize("raw", ["not-a-uuid", "1", "'; DROP TABLE x; --", "00000000-0000-0000-0000-00000000000g", "a" * 500])
def test_malformed_uuids_are_errors(world, catalog, raw):
    for name in UUID_FIELDS:
        state = parse(world.a, {name: raw})
        assert not state.valid
        assert name in state.form.errors


def test_staff_choices_are_staff_and_up_of_this_tenant(world, catalog):
    viewer = world.membership(world.victor, world.a)
    assert not parse(world.a, {"staff": uuid_of(viewer)}).valid  # a viewer serves no client
    dana = world.membership(world.dana, world.a)
    state = parse(world.a, {"staff": uuid_of(dana)})
    assert state.valid
    assert state.filters.staff == dana.pk
    assert state.applied == {"Staff member": "Dana"}
    with tenant_context(world.a):  # choices are read through the scoped managers, as during a request
        choices = [label for _, label in state.form.fields["staff"].choices]
    assert choices[0] == "All staff"
    assert "Victor" not in choices
    assert "Charlie" not in choices
    assert {"Alice", "Bob", "Carol", "Dana"} <= set(choices)


# --- staff forcing and page fields ----------------------------------------------------------------

def test_staff_forces_the_filter_and_hides_the_field(world, catalog):
    bob = catalog["a"]["staff"]
    dana = world.membership(world.dana, world.a)
    state, html = parse(world.a, {"staff": uuid_of(dana)}, staff=bob, render=True)  # asking for someone else…
    assert state.valid
    assert state.filters.staff == bob.pk  # …still reads one's own numbers
    assert state.filters.uuids["staff"] == uuid_of(bob)
    assert state.api_params()["staff"] == uuid_of(bob)
    assert "staff" not in state.form.fields
    assert 'name="staff"' not in html
    assert "Dana" not in html
    assert "Staff member" not in state.applied  # not shown as a choice one made
    alone = parse(world.a, staff=bob)
    assert alone.filters.staff == bob.pk
    assert alone.filters.uuids == {"staff": uuid_of(bob)}


def test_fields_limit_the_filters_a_page_applies(world, catalog):
    a = catalog["a"]
    query = {"segment": uuid_of(a["segment"]), "touchpoint": uuid_of(a["touchpoint"]), "channel": "email"}
    state, html = parse(world.a, query, fields=("segment",), render=True)
    assert set(state.form.fields) == {"period", "from", "to", "segment"}
    assert state.valid
    assert state.filters.segment == a["segment"].pk
    assert state.filters.touchpoint is None
    assert state.filters.channel is None  # not applied by this page: ignored
    assert state.filters.uuids == {"segment": uuid_of(a["segment"])}
    assert 'name="touchpoint"' not in html
    assert parse(world.a, {"touchpoint": "garbage"}, fields=("segment",)).valid  # not read at all
    period_only = parse(world.a, query, fields=())
    assert set(period_only.form.fields) == {"period", "from", "to"}
    assert period_only.filters.dimensions() == {}


def test_every_field_is_offered_by_default_with_its_label(world, catalog):
    state, html = parse(world.a, render=True)
    assert list(state.form.fields) == ["period", "from", "to", *ALL_FIELDS]
    for name in ("period", "from", "to", *ALL_FIELDS):
        assert f'name="{name}"' in html, name
    assert [value for value, _ in state.form.fields["period"].choices] == [value for value, _ in PRESETS]
    assert "Globex" not in html
    assert catalog["b"]["touchpoint"].name == "Checkout"  # B's objects (same names) are not A's choices
    with tenant_context(world.a):
        assert len([c for c in state.form.fields["touchpoint"].choices if c[0]]) == 1


# --- same numbers as the API, and the URL as the state ---------------------------------------------

def all_filters(a) -> dict[str, str]:
    return {**{name: uuid_of(a[name]) for name in UUID_FIELDS}, "channel": "email"}


QUERIES = [
    {},
    {"period": "7d"},
    {"period": "ytd", "channel": "kiosk"},
    {"period": "custom", "from": "2024-02-29", "to": "2025-02-28"},
    {"from": "2025-01-01", "to": "2025-01-31"},
]


@pytest.mark.parametrize("query", QUERIES)
@pytest.mark.parametrize("with_all", [False, True])
def test_api_params_parse_to_the_same_filters(world, catalog, query, with_all):
    query = {**query, **(all_filters(catalog["a"]) if with_all else {})}
    state = parse(world.a, query)
    assert state.valid
    params = state.api_params()
    assert set(params) >= {"from", "to"}
    assert "period" not in params  # explicit days: the API defaults to 90 days
    with tenant_context(world.a):
        api = parse_filters(params, world.a, today=TODAY)
    assert api == state.filters
    assert api.uuids == state.filters.uuids
    assert api.dimensions() == state.filters.dimensions()


@pytest.mark.parametrize("query", QUERIES)
@pytest.mark.parametrize("with_all", [False, True])
def test_query_round_trips(world, catalog, query, with_all):
    query = {**query, **(all_filters(catalog["a"]) if with_all else {})}
    state = parse(world.a, query)
    again = parse(world.a, dict(pair.split("=", 1) for pair in state.query.split("&")))
    assert again.valid
    assert again.filters == state.filters
    assert again.filters.uuids == state.filters.uuids
    assert (again.preset, again.params(), again.query, again.applied) == (state.preset, state.params(), state.query, state.applied)
    assert ("from" in state.params()) == (state.preset == "custom")  # a preset URL stays "the last 30 days", not frozen days


def test_query_round_trips_through_a_url(world, catalog):
    """Through a real URL (percent-encoding, RequestFactory's parsing), as a shared link would."""
    state = parse(world.a, {"period": "custom", "from": "2025-01-01", "to": "2025-03-31", **all_filters(catalog["a"])})
    request = RequestFactory().get(f"/t/acme/dashboards/?{state.query}")
    request.tenant = world.a
    with tenant_context(world.a):
        again = dashboard_filters(request, today=TODAY)
    assert again.filters == state.filters
    assert again.query == state.query


def test_forced_staff_round_trips(world, catalog):
    bob = catalog["a"]["staff"]
    state = parse(world.a, {"period": "90d"}, staff=bob)
    again = parse(world.a, dict(pair.split("=", 1) for pair in state.query.split("&")), staff=bob)
    assert again.filters == state.filters
    assert again.query == state.query


def test_applied_filters_are_named_for_headings(world, catalog):
    a = catalog["a"]
    state = parse(world.a, {"period": "7d", "touchpoint": uuid_of(a["touchpoint"]), "stage": uuid_of(a["stage"]), "channel": "email"})
    assert state.applied == {"Stage": "Onboarding — Welcome call", "Touchpoint": "Checkout", "Channel": "E-mail link"}
    assert state.description == ("Last 7 days (8 May 2025 – 14 May 2025) · Stage: Onboarding — Welcome call · Touchpoint: Checkout · "
                                 "Channel: E-mail link")


def test_filters_are_the_metrics_filters(world, catalog):
    state = parse(world.a, {"period": "custom", "from": "2025-01-01", "to": "2025-01-10", **all_filters(catalog["a"])})
    a = catalog["a"]
    assert state.filters == MetricFilters(first=date(2025, 1, 1), last=date(2025, 1, 10), channel="email",
                                          **{name: a[name].pk for name in UUID_FIELDS})
    assert state.filters.previous_first == date(2024, 12, 22)
    assert state.filters.previous_last == date(2024, 12, 31)
