"""When certificates and CRLs start and end."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

# Peers whose clocks lag (an edge device without RTC before NTP answers) still accept a new certificate.
BACKDATE = timedelta(days=1)


def utc_now(now: datetime | None = None) -> datetime:
    # X.509 times carry whole seconds; dropping the fraction here keeps what is checked what is signed.
    return (now or datetime.now(UTC)).replace(microsecond=0)
