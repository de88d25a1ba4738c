"""When failed logins make attempts wait, whose attempts, and for how long."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from user.lockout import LoginThrottle, Refusal, client_address, describe_retry

NOW = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
WINDOW = timedelta(minutes=15)
THROTTLE = LoginThrottle(max_failures=3, window=WINDOW, email_max_failures=10,
                         delay=timedelta(0))
DELAYED = LoginThrottle(max_failures=5, window=WINDOW, email_max_failures=50,
                        delay=timedelta(seconds=1))


def ago(minutes: float) -> datetime:
    return NOW - timedelta(minutes=minutes)


def test_fewer_failures_than_the_limit_do_not_lock() -> None:
    assert THROTTLE.refusal([ago(1), ago(2)], [ago(1), ago(2)], NOW) is None


def test_reaching_the_limit_locks_until_the_oldest_counted_failure_ages_out() -> None:
    failures = [ago(1), ago(5), ago(10)]
    assert THROTTLE.refusal(failures, failures, NOW) == Refusal(ago(10) + WINDOW, False)


def test_failures_outside_the_window_do_not_count() -> None:
    failures = [ago(1), ago(2), ago(16)]
    assert THROTTLE.refusal(failures, failures, NOW) is None


def test_with_more_failures_the_lock_lasts_until_enough_age_out() -> None:
    failures = [ago(1), ago(2), ago(3), ago(4)]
    assert THROTTLE.refusal(failures, failures, NOW) == Refusal(ago(3) + WINDOW, False)


def test_order_of_failures_does_not_matter() -> None:
    failures = [ago(10), ago(1), ago(5)]
    assert THROTTLE.refusal(failures, failures, NOW) == Refusal(ago(10) + WINDOW, False)


def test_other_addresses_failures_alone_do_not_lock_this_one() -> None:
    others = [ago(m) for m in range(1, 10)]  # nine failures, under the ceiling of ten
    assert THROTTLE.refusal([], others, NOW) is None


def test_the_per_email_ceiling_locks_every_address() -> None:
    everyone = [ago(m) for m in range(1, 11)]
    assert THROTTLE.refusal([], everyone, NOW) == Refusal(ago(10) + WINDOW, True)


@pytest.mark.parametrize(("failures", "wait"), [(1, 1), (2, 2), (3, 4), (4, 8)])
def test_each_failure_doubles_the_wait_before_the_next_attempt(failures: int, wait: int) -> None:
    last = NOW - timedelta(seconds=0.5)
    mine = [last - timedelta(seconds=i) for i in range(failures)][::-1]
    assert DELAYED.refusal(mine, mine, NOW) == Refusal(last + timedelta(seconds=wait), False)
    assert DELAYED.refusal(mine, mine, last + timedelta(seconds=wait)) is None


def test_the_wait_never_exceeds_the_window() -> None:
    assert DELAYED.backoff(40) == WINDOW


@pytest.mark.parametrize(("peer", "address"), [
    ("ipv4:127.0.0.5:41234", "127.0.0.5"), ("ipv6:[::1]:5000", "::1"),
    ("ipv6:[2001:db8::7]:443", "2001:db8::7"), ("unix:/tmp/socket", "unix:/tmp/socket"),
])
def test_client_address_is_the_peers_ip_without_its_port(peer: str, address: str) -> None:
    assert client_address(peer) == address


def test_message_says_when_to_retry() -> None:
    message = describe_retry(Refusal(NOW + timedelta(minutes=4, seconds=30), False), NOW)
    assert "try again in 4 min 30 s" in message
    assert "from your address" in message
    assert "2030-01-01T12:04:30+00:00" in message


def test_message_never_says_zero_seconds() -> None:
    assert "1 s" in describe_retry(Refusal(NOW, True), NOW)


def test_only_a_trusted_proxy_names_the_client() -> None:
    import ipaddress

    from user.lockout import ClientAddresses

    clients = ClientAddresses((ipaddress.ip_network("10.0.0.0/8"),))
    forwarded = (("x-forwarded-for", "203.0.113.1, 198.51.100.2"),)
    assert clients.of("ipv4:10.1.2.3:5000", forwarded) == "198.51.100.2"
    assert clients.of("ipv4:10.1.2.3:5000", ()) == "10.1.2.3"  # it called for itself
    assert clients.of("ipv4:192.0.2.8:5000", forwarded) == "192.0.2.8"  # not trusted
    assert ClientAddresses().of("ipv4:10.1.2.3:5000", forwarded) == "10.1.2.3"
    assert clients.of("unix:/run/user.sock", forwarded) == "unix:/run/user.sock"
