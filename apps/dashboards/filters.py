"""The filter bar of every analytical page (issue 7 "Behaviour"), parsed into `MetricFilters`.

The query string is the state: `period` (a preset), `from`/`to` (tenant-local days, inclusive; a
custom range), and the attribution filters under the same names and values (public uuids, channel
codes) as the metrics API — so a dashboard URL and the API call behind the same numbers share their
parameters (tests/test_dashboards_*.py compare them).

Presets (default `30d`): last 7/30/90 days ending today, month/quarter/year to date, or `custom`
(`from` and `to` both required). A `from`/`to` given without a preset means `custom`; with a preset they
are ignored (the bar shows the preset's days in them; static/js/charts.js switches the preset to
"Custom range" when a day is edited, and without JavaScript one picks "Custom range"). The range rules
(at most 5 years, `from` not after `to`, days 1900–2999) are the API's (apps.metrics.params.parse_range).

Every choice is looked up through the tenant-scoped managers: another tenant's uuid is "not one of
the choices", exactly like a missing one. A page lists the filters it can apply (`fields`); a filter a
page cannot apply is not offered (and ignored if typed into the URL, since the page does not show it
as applied). Bad input never raises: the form carries the errors and `FilterState.filters` is None.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from urllib.parse import urlencode

from django import forms

from apps.clients.models import Segment
from apps.core.dates import local_today
from apps.core.widgets import PlainSelect
from apps.journeys.models import Journey, Stage
from apps.metrics.params import MetricFilters, MetricParamError, parse_range
from apps.surveys.models import Response, Survey
from apps.tenancy.models import STAFF_AND_UP, Membership
from apps.touchpoints.models import Touchpoint

PRESETS = (
    ("7d", "Last 7 days"),
    ("30d", "Last 30 days"),
    ("90d", "Last 90 days"),
    ("mtd", "Month to date"),
    ("qtd", "Quarter to date"),
    ("ytd", "Year to date"),
    ("custom", "Custom range"),
)
DEFAULT_PRESET = "30d"
ATTRIBUTION = ("journey", "stage", "touchpoint", "segment", "survey", "staff", "channel")
ALL_FIELDS = ATTRIBUTION


def preset_range(preset: str, today: date) -> tuple[date, date]:
    """(first, last) of a preset ending today (inclusive, tenant-local)."""
    if preset in ("7d", "30d", "90d"):
        return today - timedelta(days=int(preset[:-1]) - 1), today
    if preset == "mtd":
        return today.replace(day=1), today
    if preset == "qtd":
        return today.replace(month=3 * ((today.month - 1) // 3) + 1, day=1), today
    if preset == "ytd":
        return today.replace(month=1, day=1), today
    raise ValueError(f"not a preset with a fixed range: {preset!r}")


class _StageChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.journey.name} — {obj.name}"


class _StaffChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return obj.user.full_name or obj.user.email


def _choice(model_field, queryset, label: str, empty: str):
    return model_field(queryset=queryset, to_field_name="uuid", required=False, label=label, empty_label=empty, widget=PlainSelect)


class DashboardFilterForm(forms.Form):
    """GET form of the filter bar. Build with `fields` = the attribution filters the page applies."""

    period = forms.ChoiceField(choices=PRESETS, required=False, label="Period", widget=PlainSelect)

    def __init__(self, data, *, tenant, fields: tuple[str, ...] = ALL_FIELDS, today: date | None = None):
        super().__init__(data)
        self.tenant = tenant
        self.today = today or local_today(tenant.time_zone)
        date_widget = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
        self.fields["from"] = forms.DateField(required=False, label="From", widget=date_widget,
                                              help_text="First day, in the workspace's time zone.")
        self.fields["to"] = forms.DateField(required=False, label="To", widget=date_widget, help_text="Last day, inclusive.")
        builders = {
            "journey": lambda: _choice(forms.ModelChoiceField, Journey.objects.order_by("name"), "Journey", "All journeys"),
            "stage": lambda: _choice(_StageChoice, Stage.objects.select_related("journey").order_by("journey__name", "order", "name"),
                                     "Stage", "All stages"),
            "touchpoint": lambda: _choice(forms.ModelChoiceField, Touchpoint.objects.order_by("name"), "Touchpoint", "All touchpoints"),
            "segment": lambda: _choice(forms.ModelChoiceField, Segment.objects.order_by("name"), "Segment", "All segments"),
            "survey": lambda: _choice(forms.ModelChoiceField, Survey.objects.order_by("name"), "Survey", "All surveys"),
            "staff": lambda: _choice(_StaffChoice, Membership.objects.select_related("user")
                                     .filter(role__in=STAFF_AND_UP).order_by("user__full_name", "user__email"),
                                     "Staff member", "All staff"),
            "channel": lambda: forms.ChoiceField(choices=[("", "All channels"), *Response.Channel.choices], required=False,
                                                 label="Channel", widget=PlainSelect),
        }
        for name in fields:
            self.fields[name] = builders[name]()
        self.attribution = tuple(name for name in ATTRIBUTION if name in fields)

    def clean(self):
        cleaned = super().clean()
        preset = cleaned.get("period") or ""
        first, last = cleaned.get("from"), cleaned.get("to")
        if not preset:
            preset = "custom" if (first or last) else DEFAULT_PRESET
        if preset == "custom":
            if not first or not last:
                if not self.has_error("from") and not self.has_error("to"):
                    self.add_error("from" if not first else "to", "A custom range needs both a first and a last day.")
                return cleaned
            try:
                first, last = parse_range({"from": first.isoformat(), "to": last.isoformat()}, self.tenant.time_zone,
                                          today=self.today)
            except MetricParamError as exc:
                for name, messages in exc.detail.items():
                    for message in messages:
                        self.add_error(name if name in self.fields else None, str(message).replace("`", ""))
                return cleaned
        else:
            first, last = preset_range(preset, self.today)
        cleaned["period"], cleaned["from"], cleaned["to"] = preset, first, last
        return cleaned


@dataclass(frozen=True)
class FilterState:
    """The parsed filter bar: the bound form (rendered by templates/dashboards/partials/_filters.html),
    the filters (None when the input was refused), and the query string to carry across pages."""

    form: DashboardFilterForm
    filters: MetricFilters | None
    preset: str = DEFAULT_PRESET
    applied: dict[str, str] = field(default_factory=dict)  # {"Touchpoint": "Checkout", …} for headings and the PDF

    @property
    def valid(self) -> bool:
        return self.filters is not None

    @property
    def query(self) -> str:
        """The state as a query string (preset, range when custom, and the attribution filters)."""
        return urlencode(self.params())

    def params(self) -> dict[str, str]:
        if self.filters is None:
            return {k: v for k, v in self.form.data.items() if v}
        out = {"period": self.preset}
        if self.preset == "custom":
            out["from"], out["to"] = self.filters.first.isoformat(), self.filters.last.isoformat()
        out.update({name: value for name, value in self.filters.uuids.items()})
        if self.filters.channel:
            out["channel"] = self.filters.channel
        return out

    def api_params(self) -> dict[str, str]:
        """The metrics API's query parameters for the same numbers (explicit from/to)."""
        assert self.filters is not None
        out = {"from": self.filters.first.isoformat(), "to": self.filters.last.isoformat(), **self.filters.uuids}
        if self.filters.channel:
            out["channel"] = self.filters.channel
        return out

    @property
    def period_label(self) -> str:
        if self.filters is None:
            return ""
        first, last = self.filters.first, self.filters.last
        span = f"{first:%-d %b %Y} – {last:%-d %b %Y}" if first != last else f"{first:%-d %b %Y}"
        return span if self.preset == "custom" else f"{dict(PRESETS)[self.preset]} ({span})"

    @property
    def description(self) -> str:
        """"Last 30 days (…) · Touchpoint: Checkout · Channel: E-mail" — what the numbers are of."""
        return " · ".join([self.period_label, *(f"{k}: {v}" for k, v in self.applied.items())])


def dashboard_filters(request, *, fields: tuple[str, ...] = ALL_FIELDS, staff: Membership | None = None,
                      today: date | None = None) -> FilterState:
    """Parse the filter bar of `request.GET` for a page applying `fields`. `staff` forces the staff
    filter to that member (staff reading their own numbers: the field is not offered)."""
    if staff is not None:
        fields = tuple(name for name in fields if name != "staff")
    form = DashboardFilterForm(request.GET, tenant=request.tenant, fields=fields, today=today)
    if not form.is_valid():
        return FilterState(form=form, filters=None, preset=request.GET.get("period") or DEFAULT_PRESET)
    data = form.cleaned_data
    ids, uuids, applied = {}, {}, {}
    for name in form.attribution:
        value = data.get(name)
        if name == "channel" or value in (None, ""):
            continue
        ids[name], uuids[name] = value.pk, str(value.uuid)
        applied[form.fields[name].label] = form.fields[name].label_from_instance(value)
    if staff is not None:
        ids["staff"], uuids["staff"] = staff.pk, str(staff.uuid)
    channel = data.get("channel") or None
    if channel:
        applied["Channel"] = str(dict(Response.Channel.choices)[channel])
    filters = MetricFilters(first=data["from"], last=data["to"], channel=channel, uuids=uuids, **ids)
    # The date inputs show the range the preset resolved to (they count only with "Custom range"), and
    # the period select the preset in use (the default one too, else the browser shows its first option).
    form.data = form.data.copy()
    form.data["from"], form.data["to"] = filters.first.isoformat(), filters.last.isoformat()
    form.data["period"] = data["period"]
    return FilterState(form=form, filters=filters, preset=data["period"], applied=applied)
