"""Reading a Prometheus scrape in tests: samples by name and labels, and label values that name someone."""

from __future__ import annotations

import re
from dataclasses import dataclass

import httpx
from prometheus_client.parser import text_string_to_metric_families

# What an id, a token or an email looks like in a label value.
LOOKS_LIKE_AN_ID = re.compile(
    r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"  # a UUID
    r"|[0-9a-f]{16,}"  # a hex token
    r"|@"  # an email
    r"|\d{5,}",  # a long number (a reference, a payment id of digits)
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Scrape:
    text: str
    samples: dict[tuple[str, frozenset[tuple[str, str]]], float]

    def value(self, name: str, **labels: str) -> float:
        """The sum of the samples called `name` whose labels include `labels` (0 when none)."""
        wanted = set(labels.items())
        return sum(value for (sample, got), value in self.samples.items() if sample == name and wanted <= got)

    def has(self, name: str, **labels: str) -> bool:
        wanted = set(labels.items())
        return any(sample == name and wanted <= got for sample, got in self.samples)

    def label_names(self, name: str) -> set[str]:
        """Every label any sample called `name` carries."""
        return {key for (sample, got) in self.samples if sample == name for key, _ in got}

    def label_values(self, label: str, name: str | None = None) -> set[str]:
        return {
            value
            for (sample, got) in self.samples
            if name is None or sample == name
            for key, value in got
            if key == label
        }

    def suspicious_label_values(self, services: set[str] | None = None) -> set[str]:
        """Label values of Tollgate's own metrics (of `services`, when given: the process's registry also
        holds what other tests' consumers left) that look like an id, a token or an email."""
        return {
            value
            for (sample, got) in self.samples
            if sample.startswith(("tollgate_", "http_server_"))
            and (services is None or dict(got).get("service") in services)
            for _, value in got
            if LOOKS_LIKE_AN_ID.search(value)
        }


def parse(text: str) -> Scrape:
    samples = {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }
    return Scrape(text, samples)


async def scrape(url: str) -> Scrape:
    async with httpx.AsyncClient(timeout=10) as client:
        answer = await client.get(url)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain"), answer.headers
    return parse(answer.text)
