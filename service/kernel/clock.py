"""The programme's time: it runs on UK time, so "today" is the date in Europe/London (configurable), not the
server's. A request reads the day once (the unit of work keeps it), so every field of one answer agrees even across
midnight. Tests move the day by replacing :func:`today`."""

from __future__ import annotations

from datetime import date, datetime
from functools import cache
from zoneinfo import ZoneInfo

DEFAULT_ZONE = "Europe/London"


@cache
def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def now(zone_name: str = DEFAULT_ZONE) -> datetime:
    return datetime.now(zone(zone_name))


def today(zone_name: str = DEFAULT_ZONE) -> date:
    return now(zone_name).date()
