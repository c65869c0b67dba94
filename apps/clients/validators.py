"""The days a client's dates may take (issue 15, F3): `active_from` and `churned_on` lie between
1900-01-01 and five years after today (UTC). Earlier days are typos (a `1024-01-01` once took the
churn pages of a whole workspace down); later ones too, while a contract signed to start next year
or a churn notice for the end of a long contract stay possible. `churned_on ≥ active_from` is
Client.clean's rule.

One validator for the three ways in: it sits on the model fields, so the services' full_clean()
(the API), the ModelForms (the pages) and the import's field cleaning all apply it, and the API's
input serializers name it too so the error comes back on the field before the service runs.
"""

from __future__ import annotations

from datetime import date

from django.core.exceptions import ValidationError
from django.utils import timezone

EARLIEST_DAY = date(1900, 1, 1)
FUTURE_YEARS = 5
DATE_OUT_OF_RANGE = "date_out_of_range"


def latest_client_day(today: date | None = None) -> date:
    today = today or timezone.now().date()
    try:
        return today.replace(year=today.year + FUTURE_YEARS)
    except ValueError:  # 29 February
        return date(today.year + FUTURE_YEARS, 2, 28)


def validate_client_day(value: date | None) -> None:
    if value is None:
        return
    latest = latest_client_day()
    if not EARLIEST_DAY <= value <= latest:
        raise ValidationError(
            "Enter a day between %(earliest)s and %(latest)s.", code=DATE_OUT_OF_RANGE,
            params={"earliest": EARLIEST_DAY.isoformat(), "latest": latest.isoformat()},
        )
