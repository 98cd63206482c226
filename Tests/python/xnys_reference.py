"""XNYS reference sessions from `exchange_calendars` (the independent oracle for
Sources/MarketCalendar; see Tests/MarketCalendarTests/XNYSReferenceTests.swift).

Prints one CSV row per XNYS session from 2000-01-01 to 2035-12-31, after a header:

    date,open,close,early_close
    2000-01-03,946909800,946933200,false

`open` and `close` are the regular session's bounds as UTC epoch seconds; `early_close` is
whether exchange_calendars lists the session among its early closes (a close before the
regular 16:00 America/New_York).

Notes on the oracle:
- `get_calendar` without `end` stops about a year after today; `end` is given explicitly,
  so far-future years come from its rules (no published exceptions there).
- Early closes are `calendar.early_closes` (sessions whose close is before the regular
  close); the script checks that this agrees with the close times themselves.
- XNYS has no breaks and no late opens; the script fails if the oracle reports any.
"""

import sys

import exchange_calendars as xcals
import pandas as pd

START = "2000-01-01"
END = "2035-12-31"


def main() -> int:
    calendar = xcals.get_calendar("XNYS", start=START, end=END)
    schedule = calendar.schedule.loc[START:END]
    if schedule["break_start"].notna().any() or len(calendar.late_opens) > 0:
        print("XNYS unexpectedly has breaks or late opens", file=sys.stderr)
        return 1
    early = set(calendar.early_closes.strftime("%Y-%m-%d"))
    tz = "America/New_York"
    out = sys.stdout
    out.write("date,open,close,early_close\n")
    for session, row in schedule.iterrows():
        date = session.strftime("%Y-%m-%d")
        open_utc: pd.Timestamp = row["open"]
        close_utc: pd.Timestamp = row["close"]
        local_close = close_utc.tz_convert(tz)
        closes_early = (local_close.hour, local_close.minute) < (16, 0)
        if closes_early != (date in early):
            print(f"{date}: close {local_close} disagrees with early_closes", file=sys.stderr)
            return 1
        out.write(
            f"{date},{open_utc.value // 1_000_000_000},{close_utc.value // 1_000_000_000},"
            f"{'true' if date in early else 'false'}\n"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
