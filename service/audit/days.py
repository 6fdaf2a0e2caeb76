"""Days in audit filters: a day is a day of the programme's civil time (Europe/London), whatever the server's zone."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from service.kernel.errors import InvalidInput

UK = ZoneInfo("Europe/London")


def day_range(first: dt.date | None, last: dt.date | None) -> tuple[dt.datetime | None, dt.datetime | None]:
    """The instants [start of ``first``, start of the day after ``last``) in UK time; None where a day is not given.
    """
    if first is not None and last is not None and first > last:
        raise InvalidInput("`from` must not be after `to`.", field="from")
    since = dt.datetime.combine(first, dt.time(), tzinfo=UK) if first is not None else None
    until = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), tzinfo=UK) if last is not None else None
    return since, until
