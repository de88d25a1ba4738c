"""The demo's closing line says how each order really ended."""

from __future__ import annotations

from client.cli._demo import summary


def test_summary_names_each_outcome() -> None:
    assert summary(["CONFIRMED", "REFUSED", "CANCELLED"]) == (
        "the first order confirmed, the second refused at once, the third cancelled")
    assert summary(["CONFIRMED", "REJECTED", "REJECTED"]).endswith(
        "the second rejected, the third rejected")
