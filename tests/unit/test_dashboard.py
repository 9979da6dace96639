"""The Grafana dashboard shows the issue-16 metrics, reads only the listed ones and works once provisioned."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from functools import cache
from typing import Any

import yaml

from tests.support.observability import DASHBOARD, METRIC_NAMES, OBSERVABILITY, problems, read_promql, series_labels

PROVISIONING = OBSERVABILITY / "grafana" / "provisioning"
DATASOURCE_VARIABLE = "${datasource}"


@cache
def dashboard() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return loaded


def panels() -> Iterator[dict[str, Any]]:
    for panel in dashboard()["panels"]:
        yield panel
        yield from panel.get("panels", [])


def graphs() -> list[dict[str, Any]]:
    return [panel for panel in panels() if panel["type"] != "row"]


def expressions() -> Iterator[tuple[str, str]]:
    for panel in graphs():
        for target in panel["targets"]:
            yield panel["title"], target["expr"]


def variable(name: str) -> dict[str, Any]:
    entries: list[dict[str, Any]] = dashboard()["templating"]["list"]
    (found,) = [entry for entry in entries if entry["name"] == name]
    return found


def test_every_panel_reads_only_the_listed_metrics_and_their_labels() -> None:
    found = [problem for title, expr in expressions() for problem in problems(expr, where=title)]
    assert found == []


def test_every_listed_metric_is_on_the_dashboard() -> None:
    shown = {name for _, expr in expressions() for name in read_promql(expr).selectors}
    shown = {re.sub(r"_(bucket|count|sum)$", "", name) if name not in METRIC_NAMES else name for name in shown}
    assert set(METRIC_NAMES) - shown == set()


def test_every_panel_queries_something() -> None:
    for panel in graphs():
        assert panel["targets"], panel["title"]
        assert all(target["expr"].strip() for target in panel["targets"]), panel["title"]
        assert [target["refId"] for target in panel["targets"]] == sorted({t["refId"] for t in panel["targets"]})


def test_panels_pick_the_data_source_by_variable_never_by_id() -> None:
    assert dashboard().get("id") is None, "a provisioned dashboard carries no database id"
    assert re.fullmatch(r"[\w-]{8,40}", dashboard()["uid"])
    for panel in graphs():
        assert panel["datasource"] == {"type": "prometheus", "uid": DATASOURCE_VARIABLE}, panel["title"]
        for target in panel["targets"]:
            assert target.get("datasource", panel["datasource"]) == panel["datasource"], panel["title"]
    assert (variable("datasource")["type"], variable("datasource")["query"]) == ("datasource", "prometheus")


def test_the_service_variable_lists_a_label_of_a_listed_metric() -> None:
    service = variable("service")
    assert service["datasource"]["uid"] == DATASOURCE_VARIABLE
    match = re.fullmatch(r"label_values\((\w+), (\w+)\)", service["query"]["query"])
    assert match, service["query"]
    labels = series_labels(match[1])
    assert labels is not None and match[2] in labels


def test_panels_have_unique_ids_and_fit_the_grid() -> None:
    ids = [panel["id"] for panel in panels()]
    assert len(ids) == len(set(ids))
    for panel in panels():
        position = panel["gridPos"]
        assert position["x"] + position["w"] <= 24 and position["h"] > 0, panel["title"]


def test_the_provisioned_data_source_is_the_one_the_dashboard_defaults_to() -> None:
    (datasource,) = yaml.safe_load((PROVISIONING / "datasources" / "prometheus.yml").read_text())["datasources"]
    assert datasource["type"] == "prometheus"
    assert variable("datasource")["current"]["value"] == datasource["uid"]
    assert datasource["url"] == "http://prometheus:9090"


def test_the_dashboard_provider_loads_files_from_a_folder() -> None:
    (provider,) = yaml.safe_load((PROVISIONING / "dashboards" / "tollgate.yml").read_text())["providers"]
    assert provider["type"] == "file"
    assert provider["options"]["path"].startswith("/")
