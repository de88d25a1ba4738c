"""When failed logins lock an email out, and for how long."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from user.lockout import LoginThrottle, describe_retry

NOW = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
THROTTLE = LoginThrottle(max_failures=3, window=timedelta(minutes=15))


def ago(minutes: float) -> datetime:
    return NOW - timedelta(minutes=minutes)


def test_fewer_failures_than_the_limit_do_not_lock() -> None:
    assert THROTTLE.retry_at([ago(1), ago(2)], NOW) is None


def test_reaching_the_limit_locks_until_the_oldest_counted_failure_ages_out() -> None:
    assert THROTTLE.retry_at([ago(1), ago(5), ago(10)], NOW) == ago(10) + timedelta(minutes=15)


def test_failures_outside_the_window_do_not_count() -> None:
    assert THROTTLE.retry_at([ago(1), ago(2), ago(16)], NOW) is None


def test_with_more_failures_the_lock_lasts_until_enough_have_aged_out() -> None:
    failures = [ago(1), ago(2), ago(3), ago(14)]
    assert THROTTLE.retry_at(failures, NOW) == ago(3) + timedelta(minutes=15)


def test_order_of_failures_does_not_matter() -> None:
    assert THROTTLE.retry_at([ago(10), ago(1), ago(5)], NOW) == ago(10) + timedelta(minutes=15)


def test_retry_message_says_when() -> None:
    message = describe_retry(NOW + timedelta(minutes=4, seconds=30), NOW)
    assert "4 min 30 s" in message
    assert "2030-01-01T12:04:30" in message
    assert "1 s" in describe_retry(NOW, NOW)
