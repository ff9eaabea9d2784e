"""The town's clock: its time zone and today's date there.

Phones, GPS exports and the district's files in the town give local dates and times (Beijing
time); a server may run on UTC, so "today" is always asked of this clock, never of the
machine's.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

__all__ = ["LOCAL_TZ", "today_local"]

#: The town's time zone.
LOCAL_TZ = ZoneInfo("Asia/Shanghai")


def today_local() -> dt.date:
    """Today's date in China (Asia/Shanghai)."""
    return dt.datetime.now(LOCAL_TZ).date()
