"""Reading a service's ``/metrics`` as Prometheus would, with prometheus_client's text parser."""

from __future__ import annotations

import asyncio
import urllib.request
from collections.abc import Iterable

from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

Series = tuple[str, frozenset[tuple[str, str]]]
Samples = dict[Series, float]

# The series names each type of metric shows, for a family declared with no series yet.
_SUFFIXES = {"counter": ("_total", "_created"), "gauge": ("",),
             "histogram": ("_bucket", "_count", "_sum", "_created")}


def exposition(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as response:
        text: str = response.read().decode()
    return text


async def scrape(url: str) -> Samples:
    """Every sample ``url`` exposes, keyed by name and labels."""
    text = await asyncio.to_thread(exposition, url)
    return {series(sample): sample.value for family in text_string_to_metric_families(text)
            for sample in family.samples}


def series(sample: Sample) -> Series:
    return sample.name, frozenset(sample.labels.items())


def key(name: str, **labels: str) -> Series:
    return name, frozenset(labels.items())


def exported_names(text: str) -> set[str]:
    """The series names an exposition offers to queries: those with samples, and those of a
    family it declares with none yet (a labelled metric before its first observation)."""
    names: set[str] = set()
    for family in text_string_to_metric_families(text):
        names |= {sample.name for sample in family.samples}
        names |= {family.name + suffix for suffix in _SUFFIXES.get(family.type, ("",))}
    return names


def moved(before: Samples, after: Samples, names: Iterable[str]) -> Samples:
    """How far each series of ``names`` moved between two scrapes; series that stayed put
    are left out."""
    wanted = set(names)
    return {s: value - before.get(s, 0.0) for s, value in after.items()
            if s[0] in wanted and value != before.get(s, 0.0)}
