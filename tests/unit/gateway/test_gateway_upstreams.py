"""The gateway's view of a service's replicas: names resolved again, endpoints in turn, ejection with
backoff (no I/O: a resolver of the test's own and a clock it moves)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from gateway.resolver import HostsFileResolver, parse_hosts
from gateway.upstreams import Ejection, Upstream, parse_target


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Records:
    """A resolver answering what the test says a name has now."""

    def __init__(self, **names: list[str]) -> None:
        self.names = names

    async def addresses(self, host: str) -> list[str]:
        if host not in self.names:
            raise OSError(f"{host}: no such name")
        return self.names[host]


def served(upstream: Upstream, requests: int) -> Counter[str]:
    return Counter(upstream.candidates()[0].url for _ in range(requests))


async def test_a_name_stands_for_every_address_it_resolves_to_and_they_share_the_requests() -> None:
    records = Records(billing=["10.0.0.1", "10.0.0.2"])
    upstream = Upstream("billing", ["http://billing:8000"], resolver=records)
    await upstream.refresh()
    assert upstream.urls == ["http://10.0.0.1:8000", "http://10.0.0.2:8000"]
    assert served(upstream, 10) == {"http://10.0.0.1:8000": 5, "http://10.0.0.2:8000": 5}


async def test_a_replica_added_to_the_name_gets_requests_after_the_next_resolve() -> None:
    records = Records(billing=["10.0.0.1"])
    upstream = Upstream("billing", ["http://billing:8000"], resolver=records)
    await upstream.refresh()
    records.names["billing"] = ["10.0.0.1", "10.0.0.2", "fd00::3"]
    await upstream.refresh()
    assert set(served(upstream, 9).values()) == {3}
    assert "http://[fd00::3]:8000" in upstream.urls


async def test_an_endpoint_that_stays_keeps_its_record_and_one_that_goes_is_dropped() -> None:
    clock = Clock()
    records = Records(billing=["10.0.0.1", "10.0.0.2"])
    upstream = Upstream("billing", ["http://billing:8000"], resolver=records, clock=clock)
    await upstream.refresh()
    first = upstream.endpoints[0]
    upstream.failed(first, "refused")
    records.names["billing"] = ["10.0.0.1"]
    await upstream.refresh()
    assert upstream.endpoints == [first] and first.failures == 1


async def test_a_name_that_stops_resolving_keeps_its_last_addresses() -> None:
    records = Records(billing=["10.0.0.1"])
    upstream = Upstream("billing", ["http://billing:8000"], resolver=records)
    await upstream.refresh()
    del records.names["billing"]
    await upstream.refresh()
    assert upstream.urls == ["http://10.0.0.1:8000"]


def test_before_a_name_resolves_its_url_is_used_as_written() -> None:
    upstream = Upstream("billing", ["http://billing:8000/", "http://127.0.0.1:8001"], resolver=Records())
    assert upstream.urls == ["http://billing:8000", "http://127.0.0.1:8001"]
    assert upstream.has_names


async def test_a_comma_list_mixes_addresses_and_names() -> None:
    upstream = Upstream(
        "billing", ["http://127.0.0.1:8001", "http://more:8002"], resolver=Records(more=["127.0.0.2", "127.0.0.3"])
    )
    await upstream.refresh()
    assert upstream.urls == ["http://127.0.0.1:8001", "http://127.0.0.2:8002", "http://127.0.0.3:8002"]


def test_an_ejected_endpoint_is_tried_only_after_the_others_until_its_ejection_ends() -> None:
    clock = Clock()
    upstream = Upstream("billing", ["http://127.0.0.1:1", "http://127.0.0.1:2"], clock=clock)
    down = upstream.endpoints[0]
    upstream.failed(down, "refused")
    for _ in range(4):
        assert upstream.candidates()[-1] is down  # still there last: a refused connection moves on to it
    clock.now += 1.0
    assert served(upstream, 4)[down.url] == 2


def test_each_failure_in_a_row_doubles_the_ejection_up_to_the_longest() -> None:
    clock = Clock()
    upstream = Upstream("billing", ["http://127.0.0.1:1"], ejection=Ejection(1.0, 5.0), clock=clock)
    down = upstream.endpoints[0]
    pauses = []
    for _ in range(5):
        upstream.failed(down, "refused")
        pauses.append(down.ejected_until - clock.now)
    assert pauses == [1.0, 2.0, 4.0, 5.0, 5.0]
    upstream.succeeded(down)
    assert down.failures == 0 and down.ejected_until == 0.0


def test_when_every_endpoint_is_ejected_all_are_tried_in_turn() -> None:
    upstream = Upstream("billing", ["http://127.0.0.1:1", "http://127.0.0.1:2"])
    for endpoint in upstream.endpoints:
        upstream.failed(endpoint, "health check answered 503")
    assert served(upstream, 4) == {"http://127.0.0.1:1": 2, "http://127.0.0.1:2": 2}


def test_a_url_that_is_not_http_is_refused() -> None:
    with pytest.raises(ValueError, match="not an http"):
        parse_target("billing:8000")


def test_a_hosts_file_lists_several_addresses_of_one_name() -> None:
    text = "# replicas\n127.0.0.2 billing-headless\n127.0.0.3 billing-headless other\nnot-an-ip billing-headless\n"
    assert parse_hosts(text) == {"billing-headless": ["127.0.0.2", "127.0.0.3"], "other": ["127.0.0.3"]}


async def test_the_hosts_file_is_read_again_on_every_resolve_and_other_names_go_to_the_fallback(
    tmp_path: Path,
) -> None:
    hosts = tmp_path / "hosts"
    hosts.write_text("127.0.0.2 billing\n")
    resolver = HostsFileResolver(hosts, Records(auth=["10.0.0.9"]))
    assert await resolver.addresses("billing") == ["127.0.0.2"]
    hosts.write_text("127.0.0.2 billing\n127.0.0.3 billing\n")
    assert await resolver.addresses("BILLING") == ["127.0.0.2", "127.0.0.3"]
    assert await resolver.addresses("auth") == ["10.0.0.9"]
