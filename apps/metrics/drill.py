"""From a number to the rows behind it (issue 19 item 1): the responses list's address for a number's
period, filters and metric, so a tile's n, a breakdown row or a trend period opens exactly the responses it
counts (the list filters on the same local days, leaves bot-flagged responses out and, with `answered`, keeps
those that answered the metric: its n).

The list's filters have the dashboards' names and values (public uuids, channel codes), so a filter of the page
carries over as it is; `narrow` adds the row's own (e.g. `touchpoint=<uuid>` for a breakdown row). The recovery
page's numbers open the case list the same way (`cases_url`). Here, in metrics, so that every part that shows a
number — the dashboards and the digests — builds the same address.
"""

from __future__ import annotations

from datetime import date
from urllib.parse import urlencode

from django.urls import reverse

from apps.metrics.params import MetricFilters
from apps.metrics.sources import NOT_ATTRIBUTED as NOT_ATTRIBUTED_LABEL
from apps.surveys.responses.selectors import NOT_ATTRIBUTED

LIST_FILTERS = ("survey", "touchpoint", "stage", "journey", "segment", "staff")
PAIRS = "perception_gap"  # the responses list's `answered` for the pairs a gap counts (an NPS answer and a prediction)


def responses_url(tenant_slug: str, f: MetricFilters, *, answered: str | None = None, first: date | None = None,
                  last: date | None = None, **narrow: str) -> str:
    """The responses list with f's days (or first..last), its filters, `narrow` and `answered` applied."""
    query = {"date_from": (first or f.first).isoformat(), "date_to": (last or f.last).isoformat()}
    query.update({name: f.uuids[name] for name in LIST_FILTERS if name in f.uuids})
    if f.channel:
        query["channel"] = f.channel
    query.update({name: value for name, value in narrow.items() if value})
    if answered:
        query["answered"] = answered
    return f"{reverse('responses:list', kwargs={'tenant_slug': tenant_slug})}?{urlencode(query)}"


def row_url(tenant_slug: str, f: MetricFilters, by: str, row: dict, *, answered: str | None) -> str:
    """A breakdown row's responses (`row`: its public `key` and `label`): its value's; for "Not attributed" those
    without one; "" for a value deleted since ("Removed", which no filter names any more)."""
    if row["key"] is None and row["label"] != NOT_ATTRIBUTED_LABEL:
        return ""
    return responses_url(tenant_slug, f, answered=answered, **{by: row["key"] or NOT_ATTRIBUTED})


def cases_url(tenant_slug: str, f: MetricFilters, which: str, **narrow: str) -> str:
    """The case list with the cases a recovery number counts (apps.feedback.recovery.selectors.CASE_SETS): f's days
    and filters as the recovery page applies them, every status, and `narrow` (the case list's own filters, e.g.
    `root_cause=<uuid>`, `no_root_cause=on`, `assignee=<uuid>`, `unassigned=on`, `metric=nps`)."""
    query = {"status": "all", "recovery": which, "from": f.first.isoformat(), "to": f.last.isoformat(), **f.uuids}
    if f.channel:
        query["channel"] = f.channel
    query.update({name: value for name, value in narrow.items() if value})
    return f"{reverse('cases:list', kwargs={'tenant_slug': tenant_slug})}?{urlencode(query)}"


def invitations_url(tenant_slug: str, f: MetricFilters, step: str, **narrow: str) -> str:
    """The invitations list with the invitations a funnel number counts (apps.surveys.distribution.selectors.FUNNEL_STEPS):
    made on f's days, f's survey and channel (the only filters invitations carry), `narrow` (e.g. `survey=<uuid>`,
    `skip_reason=fatigued`); `step` "" for every invitation made then."""
    query = {"date_from": f.first.isoformat(), "date_to": f.last.isoformat(), **({"step": step} if step else {})}
    if "survey" in f.uuids:
        query["survey"] = f.uuids["survey"]
    if f.channel:
        query["channel"] = f.channel
    query.update({name: value for name, value in narrow.items() if value})
    return f"{reverse('distribution:invitations', kwargs={'tenant_slug': tenant_slug})}?{urlencode(query)}"
