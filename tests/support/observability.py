"""The metrics the alert rules and the dashboard rely on (issue 16), in one place.

`deploy/observability/` (alert rules, Grafana dashboard) may use only the names
and labels below; `tests/unit/test_alert_rules.py` and `test_dashboard.py` hold
every expression there to this list. When the services' metrics land with other
names or labels, change them here first: the failing tests then point at each
rule and panel to adjust.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OBSERVABILITY = ROOT / "deploy" / "observability"
PROMETHEUS = OBSERVABILITY / "prometheus"
ALERT_RULES = PROMETHEUS / "alerts.yml"
ALERT_TESTS = PROMETHEUS / "alerts.test.yml"
DASHBOARD = OBSERVABILITY / "grafana" / "dashboards" / "tollgate.json"
OPERATIONS = ROOT / "docs" / "operations.md"


@dataclass(frozen=True)
class Metric:
    kind: str  # counter, gauge or histogram
    labels: frozenset[str]


def _metric(kind: str, *labels: str) -> Metric:
    return Metric(kind, frozenset(labels))


# Labels Prometheus puts on every scraped series (`process` by the local config for `tollgate stack`).
TARGET_LABELS = frozenset({"job", "instance", "process"})

METRICS: dict[str, Metric] = {
    "up": _metric("gauge"),
    "http_server_request_duration_seconds": _metric("histogram", "service", "route", "method", "status_class"),
    "tollgate_outbox_pending_events": _metric("gauge", "service"),
    "tollgate_outbox_oldest_pending_seconds": _metric("gauge", "service"),
    "tollgate_events_published_total": _metric("counter", "service", "event_type"),
    "tollgate_events_handled_total": _metric("counter", "service", "queue", "outcome"),
    "tollgate_dead_letter_messages": _metric("gauge", "service", "queue"),
    "tollgate_unrouted_messages": _metric("gauge", "service"),
    "tollgate_gateway_ip_denials_total": _metric("counter", "service"),
    "tollgate_gateway_rules_age_seconds": _metric("gauge", "service"),
    "tollgate_logins_total": _metric("counter", "service", "outcome"),
    "tollgate_payments_total": _metric("counter", "service", "provider", "status"),
    "tollgate_offline_payments_pending": _metric("gauge", "service"),
    "tollgate_offline_payments_oldest_pending_seconds": _metric("gauge", "service"),
    "tollgate_invoices_issued_total": _metric("counter", "service", "kind"),
    "tollgate_consumers_paused": _metric("gauge", "service", "dependency"),
    "tollgate_broker_connected": _metric("gauge", "service"),
}
METRIC_NAMES = tuple(METRICS)

HISTOGRAM_SERIES = {"_bucket": {"le"}, "_count": set(), "_sum": set()}


def series_labels(name: str) -> frozenset[str] | None:
    """Labels a series of this name may carry, or None when it is no listed metric's."""
    if name in METRICS and METRICS[name].kind != "histogram":
        return METRICS[name].labels | TARGET_LABELS
    for suffix, extra in HISTOGRAM_SERIES.items():
        base = name.removesuffix(suffix)
        if name.endswith(suffix) and base in METRICS and METRICS[base].kind == "histogram":
            return METRICS[base].labels | TARGET_LABELS | extra
    return None


# --- reading PromQL, just enough to see which series and labels an expression names ---

_TOKEN = re.compile(
    r"""(?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`)
      |(?P<range>\[[^\]]*\])
      |(?P<number>\d+(?:\.\d+)?(?:e[+-]?\d+)?(?:ms|[smhdwy])?)
      |(?P<ident>[A-Za-z_:][A-Za-z0-9_:]*)
      |(?P<variable>\$\{?\w+\}?)
      |(?P<op>=~|!~|!=|==|>=|<=|[{}(),=<>+\-*/%^])
      |(?P<space>\s+)""",
    re.VERBOSE,
)
AGGREGATIONS = frozenset(
    {"sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values", "bottomk", "topk", "quantile"}
)
GROUPING = frozenset({"by", "without", "on", "ignoring", "group_left", "group_right"})
KEYWORDS = AGGREGATIONS | GROUPING | {"and", "or", "unless", "bool", "offset", "atan2", "inf", "nan"}


@dataclass
class Expression:
    """The series an expression selects (name -> labels its matchers use) and the labels it groups by."""

    selectors: dict[str, set[str]] = field(default_factory=dict)
    grouping: set[str] = field(default_factory=set)


def read_promql(expr: str) -> Expression:
    tokens: list[tuple[str, str]] = []
    position = 0
    while position < len(expr):
        match = _TOKEN.match(expr, position)
        if not match:
            raise ValueError(f"cannot read {expr[position:]!r} in {expr!r}")
        position = match.end()
        if match.lastgroup != "space":
            tokens.append((match.lastgroup or "", match.group()))
    found = Expression()
    index = 0
    while index < len(tokens):
        kind, text = tokens[index]
        following = tokens[index + 1][1] if index + 1 < len(tokens) else ""
        if kind == "op" and text == "{":
            raise ValueError(f"a selector without a metric name in {expr!r}")
        if kind != "ident":
            index += 1
            continue
        if text in GROUPING and following == "(":
            end = _closing(tokens, index + 1)
            found.grouping |= {value for kind, value in tokens[index + 2 : end] if kind == "ident"}
            index = end + 1
        elif text in KEYWORDS or following == "(":
            index += 1
        else:
            labels = found.selectors.setdefault(text, set())
            index += 1
            if following == "{":
                end = _closing(tokens, index, opening="{", closing="}")
                labels |= {tokens[inner][1] for inner in range(index + 1, end) if _is_label(tokens, inner)}
                index = end + 1
    return found


def _is_label(tokens: list[tuple[str, str]], index: int) -> bool:
    """A label name inside a selector's braces: an identifier before a matcher operator."""
    return tokens[index][0] == "ident" and index + 1 < len(tokens) and tokens[index + 1][1] in ("=", "!=", "=~", "!~")


def _closing(tokens: list[tuple[str, str]], opening_index: int, opening: str = "(", closing: str = ")") -> int:
    depth = 0
    for index in range(opening_index, len(tokens)):
        if tokens[index][1] == opening:
            depth += 1
        elif tokens[index][1] == closing:
            depth -= 1
            if depth == 0:
                return index
    raise ValueError(f"unbalanced {opening}{closing}")


def problems(expr: str, *, where: str) -> list[str]:
    """What in `expr` is not in METRICS: unknown series, matcher or grouping labels a series lacks."""
    read = read_promql(expr)
    found: list[str] = []
    if not read.selectors:
        found.append(f"{where}: selects no metric")
    known: set[str] = set()
    for name, matched in read.selectors.items():
        labels = series_labels(name)
        if labels is None:
            found.append(f"{where}: {name} is not in tests/support/observability.py METRICS")
            continue
        known |= labels
        found.extend(f"{where}: {name} has no label {label!r}" for label in sorted(matched - labels))
    found.extend(
        f"{where}: groups by {label!r}, which none of its series has" for label in sorted(read.grouping - known)
    )
    return found
