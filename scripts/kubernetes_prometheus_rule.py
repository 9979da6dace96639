"""Write deploy/kubernetes/components/observability/prometheus-rule.yaml from the alert rules.

The alerts have one source, deploy/observability/prometheus/alerts.yml (Prometheus in
Compose and `make stack` loads it as is). On Kubernetes the Prometheus Operator reads
them from a PrometheusRule, whose `spec.groups` is that file's `groups`: this script
writes it (`make kubernetes-alerts`), and tests/unit/test_kubernetes.py fails while the
two differ.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
ALERT_RULES = ROOT / "deploy" / "observability" / "prometheus" / "alerts.yml"
PROMETHEUS_RULE = ROOT / "deploy" / "kubernetes" / "components" / "observability" / "prometheus-rule.yaml"
HEADER = (
    "# Generated from deploy/observability/prometheus/alerts.yml by `make kubernetes-alerts`\n"
    "# (scripts/kubernetes_prometheus_rule.py): edit that file, then run it.\n"
)


def prometheus_rule(alert_rules: dict[str, Any]) -> dict[str, Any]:
    """The PrometheusRule carrying `alert_rules`' groups unchanged."""
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {"name": "tollgate", "labels": {"app.kubernetes.io/part-of": "tollgate"}},
        "spec": {"groups": alert_rules["groups"]},
    }


class _BlockStrings(yaml.SafeDumper):
    """Multi-line strings (expressions, descriptions) as `|` blocks, as in alerts.yml."""


def _string(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_BlockStrings.add_representer(str, _string)


def render() -> str:
    rule = prometheus_rule(yaml.safe_load(ALERT_RULES.read_text()))
    return HEADER + yaml.dump(rule, Dumper=_BlockStrings, sort_keys=False, width=110, allow_unicode=True)


if __name__ == "__main__":
    PROMETHEUS_RULE.write_text(render())
    print(f"wrote {PROMETHEUS_RULE.relative_to(ROOT)}")
