"""Login throttling policy: how many failures, within what window, lock an email out.

Pure arithmetic over failure timestamps; :mod:`user.store` keeps the timestamps. Failures are
keyed by the normalized email the caller typed, never by account, so an unknown email is
throttled exactly like a known one and the answer reveals nothing about who is registered.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True, slots=True)
class LoginThrottle:
    max_failures: int
    window: timedelta

    def window_start(self, now: datetime) -> datetime:
        """Failures older than this no longer count."""
        return now - self.window

    def retry_at(self, failures: Sequence[datetime], now: datetime) -> datetime | None:
        """When attempts may resume if ``failures`` lock the email out at ``now``, else None.

        Locked while at least ``max_failures`` failures lie inside the window; it reopens when
        enough of them have aged out to leave fewer than ``max_failures``.
        """
        recent = sorted(at for at in failures if at > self.window_start(now))
        if len(recent) < self.max_failures:
            return None
        return recent[-self.max_failures] + self.window


def describe_retry(retry_at: datetime, now: datetime) -> str:
    """A human message saying when to try again, rounded up to whole seconds."""
    wait = max(1, int((retry_at - now).total_seconds() + 0.999))
    minutes, seconds = divmod(wait, 60)
    span = f"{minutes} min {seconds} s" if minutes else f"{seconds} s"
    return (f"too many failed logins for this email; try again in {span} "
            f"(after {retry_at.isoformat(timespec='seconds')})")
