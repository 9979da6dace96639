"""The alert rules load, fire when they should and not otherwise, and read only the listed metrics (issue 16).

Prometheus' own `promtool` checks the rule file and the two Prometheus
configurations and runs the rules' unit tests (`alerts.test.yml`); without it
these tests fail, saying what to install, and never skip.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.observability import ALERT_RULES, ALERT_TESTS, OPERATIONS, PROMETHEUS, ROOT, problems, read_promql

SEVERITIES = {"critical", "warning"}
CONFIGS = (PROMETHEUS / "prometheus.yml", PROMETHEUS / "prometheus-stack.yml")


def promtool(*arguments: str | Path, cwd: Path = PROMETHEUS) -> str:
    """Run promtool; its output when it succeeds, the test's failure with that output when not."""
    binary = shutil.which("promtool")
    if binary is None:
        pytest.fail("promtool is missing: apt-get install prometheus (Debian's package brings promtool)", pytrace=False)
    result = subprocess.run(
        [binary, *map(str, arguments)], cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"promtool {' '.join(map(str, arguments))} failed:\n{output}"
    return output


@cache
def rules() -> tuple[dict[str, Any], ...]:
    loaded = yaml.safe_load(ALERT_RULES.read_text())
    return tuple(rule for group in loaded["groups"] for rule in group["rules"])


def alerts() -> dict[str, dict[str, Any]]:
    return {rule["alert"]: rule for rule in rules() if "alert" in rule}


def test_the_rule_file_passes_promtool_check() -> None:
    output = promtool("check", "rules", ALERT_RULES)
    assert f"{len(rules())} rules found" in output


def test_every_alert_fires_and_stays_quiet_as_its_unit_test_says() -> None:
    assert "SUCCESS" in promtool("test", "rules", ALERT_TESTS.name)


@pytest.mark.parametrize("config", CONFIGS, ids=lambda path: path.name)
def test_the_prometheus_configs_pass_promtool_check_with_the_rules(config: Path) -> None:
    output = promtool("check", "config", config.name)
    assert "SUCCESS" in output and ALERT_RULES.name in output, output


def test_the_alerts_of_issue_16_are_there() -> None:
    assert set(alerts()) >= {
        "TollgateTargetDown",
        "TollgateDeadLetteredMessages",
        "TollgateUnroutedMessages",
        "TollgateOutboxStuck",
        "TollgateConsumerFailing",
        "TollgateHttpErrors",
        "TollgateGatewayRulesStale",
        "TollgateOfflinePaymentsWaiting",
    }


def test_every_rule_reads_only_the_listed_metrics_and_their_labels() -> None:
    found = [problem for rule in rules() for problem in problems(rule["expr"], where=rule.get("alert", "?"))]
    assert found == []


@pytest.mark.parametrize("name", sorted(alerts()))
def test_every_alert_says_how_bad_what_and_where_the_runbook_is(name: str) -> None:
    alert = alerts()[name]
    assert alert["labels"]["severity"] in SEVERITIES
    annotations = alert["annotations"]
    assert annotations["summary"].strip() and annotations["description"].strip()
    document, _, anchor = annotations["runbook_url"].partition("#")
    assert document == str(OPERATIONS.relative_to(ROOT))
    assert anchor == name.lower(), "the runbook section is the alert's own heading"
    headings = re.findall(r"^#+ (.+)$", OPERATIONS.read_text(), re.MULTILINE)
    assert name in headings, f"docs/operations.md has no section {name}"


@pytest.mark.parametrize("name", sorted(alerts()))
def test_every_alert_is_unit_tested_both_firing_and_quiet(name: str) -> None:
    cases = [
        case
        for group in yaml.safe_load(ALERT_TESTS.read_text())["tests"]
        for case in group.get("alert_rule_test", [])
        if case["alertname"] == name
    ]
    assert any(case.get("exp_alerts") for case in cases), f"no test makes {name} fire"
    assert any(not case.get("exp_alerts") for case in cases), f"no test shows {name} quiet"


def test_the_expression_reader_tells_metrics_from_functions_labels_and_strings() -> None:
    read = read_promql(
        "histogram_quantile(0.95, sum by (service, le) (rate(http_server_request_duration_seconds_bucket"
        '{route="/api/{path}", status=~"5.."}[$__rate_interval]))) / on (service) group_left max(up) > bool 0.5'
    )
    assert read.selectors == {"http_server_request_duration_seconds_bucket": {"route", "status"}, "up": set()}
    assert read.grouping == {"service", "le"}
    assert problems("sum by (queue) (tollgate_outbox_pending_events{route='x'})", where="e") == [
        "e: tollgate_outbox_pending_events has no label 'route'",
        "e: groups by 'queue', which none of its series has",
    ]
    assert problems("rate(tollgate_events_total[5m])", where="e") == [
        "e: tollgate_events_total is not in tests/support/observability.py METRICS"
    ]
