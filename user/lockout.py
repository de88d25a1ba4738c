"""Login throttling policy, keyed so that an attacker cannot lock the owner out.

Following OWASP's authentication cheat sheet, failures count per client address and email,
not per email alone (which would hand anyone a button that locks an account's owner out):

- per address and email, each failure makes the next attempt from there wait longer
  (``delay``, doubled with every failure), and ``max_failures`` failures lock that pair out
  for ``window``;
- per email, from every address together, ``email_max_failures`` failures lock the email out
  for ``window``. Set well above ``max_failures``, it trips only when many addresses guess at
  one account (a botnet), which a single attacker cannot do alone.

Pure arithmetic over failure timestamps; :mod:`user.store` keeps them. Failures are keyed by
the normalized email the caller typed, never by account, so an unknown email is throttled
exactly like a known one and the answer reveals nothing about who is registered.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from runtime.errors import InvalidArgument

_PEER = re.compile(r"ipv4:(?P<v4>[^:]+):\d+|ipv6:\[(?P<v6>[^\]]+)\]:\d+")


def client_address(peer: str) -> str:
    """The client's IP address in a gRPC peer string (``ipv4:127.0.0.5:41234``,
    ``ipv6:[::1]:5000``); any other kind of peer (a Unix socket) is kept whole."""
    found = _PEER.fullmatch(peer)
    if found is None:
        return peer
    return found["v4"] or found["v6"]


FORWARDED_FOR = "x-forwarded-for"
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True, slots=True)
class ClientAddresses:
    """Whose address keys throttling: the caller's own, or, when the caller is a proxy trusted
    to say so (the storefront, say, in ``trusted_proxies``), the visitor's address it sends
    in ``x-forwarded-for`` metadata. Without this every visitor of a web front end would share
    the front end's address, and one of them could slow down everyone's login for an email.

    Anyone else's ``x-forwarded-for`` is ignored: an untrusted caller naming a fresh address
    per guess would otherwise escape the per-address limit. Of a list, the last address
    counts, the one the trusted proxy appended itself.
    """

    trusted_proxies: tuple[IPNetwork, ...] = ()

    def of(self, peer: str, metadata: Iterable[tuple[str, str | bytes]]) -> str:
        own = client_address(peer)
        if not self.trusted_proxies or not self._trusted(own):
            return own
        forwarded = [str(value) for key, value in metadata if key == FORWARDED_FOR]
        if not forwarded:
            return own
        named = forwarded[-1].split(",")[-1].strip()
        try:
            return str(ipaddress.ip_address(named))
        except ValueError:
            raise InvalidArgument(FORWARDED_FOR, f"must end with the client's IP address, "
                                                 f"not {named!r}") from None

    def _trusted(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:  # not an IP peer (a Unix socket): never a trusted proxy
            return False
        return any(ip in network for network in self.trusted_proxies)


@dataclass(frozen=True, slots=True)
class Refusal:
    """Attempts must wait until ``retry_at``; ``whole_email`` when every address must."""

    retry_at: datetime
    whole_email: bool


@dataclass(frozen=True, slots=True)
class LoginThrottle:
    max_failures: int
    window: timedelta
    email_max_failures: int = 100
    delay: timedelta = timedelta(seconds=1)

    def window_start(self, now: datetime) -> datetime:
        """Failures older than this no longer count."""
        return now - self.window

    def refusal(self, from_client: Sequence[datetime], for_email: Sequence[datetime],
                now: datetime) -> Refusal | None:
        """Whether an attempt at ``now`` must wait, given recent failures from this client for
        this email and for this email from anyone; ``None`` when it may go ahead."""
        start = self.window_start(now)
        mine = sorted(at for at in from_client if at > start)
        everyone = sorted(at for at in for_email if at > start)
        if len(everyone) >= self.email_max_failures:
            return Refusal(everyone[-self.email_max_failures] + self.window, whole_email=True)
        waits = []
        if len(mine) >= self.max_failures:
            waits.append(mine[-self.max_failures] + self.window)
        if mine:
            waits.append(mine[-1] + self.backoff(len(mine)))
        retry_at = max(waits, default=now)
        return Refusal(retry_at, whole_email=False) if retry_at > now else None

    def backoff(self, failures: int) -> timedelta:
        """The wait after ``failures`` failures in a row: ``delay``, doubling, at most
        ``window``."""
        return min(self.delay * (1 << min(failures - 1, 32)), self.window)


def describe_retry(refusal: Refusal, now: datetime) -> str:
    """A human message saying when to try again, rounded up to whole seconds."""
    wait = max(1, int((refusal.retry_at - now).total_seconds() + 0.999))
    minutes, seconds = divmod(wait, 60)
    span = f"{minutes} min {seconds} s" if minutes else f"{seconds} s"
    whose = ("for this email" if refusal.whole_email
             else "for this email from your address")
    return (f"too many failed logins {whose}; try again in {span} "
            f"(after {refusal.retry_at.isoformat(timespec='seconds')})")
