"""Every metric Tollgate exposes, with its labels: the contract alerts and dashboards are written against.

One registry per process (prometheus_client's default, which also carries the
process's CPU, memory and file descriptors); every metric of ours has a
`service` label, so the embedded default, four services in one process, tells
them apart. No label ever holds an account, user, payment or order id: label
values come from fixed sets (outcomes, kinds, providers), route templates,
event types and queue names.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

from prometheus_client import Counter, Gauge, Histogram, disable_created_metrics

# A `<name>_created` series beside every counter and histogram doubles what is
# stored for a timestamp Prometheus does not need (it sees counter resets itself).
disable_created_metrics()  # type: ignore[no-untyped-call]

# Seconds; from a gateway's sub-millisecond answers to a slow PDF.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

HTTP_REQUEST_DURATION = Histogram(
    "http_server_request_duration_seconds",
    "Time from a request's arrival to the end of its answer, by route template.",
    ["service", "method", "route", "status_class"],
    buckets=LATENCY_BUCKETS,
)

# --- events: outbox, bus, consumers -------------------------------------------------
OUTBOX_PENDING = Gauge(
    "tollgate_outbox_pending_events", "Outbox rows not yet published (read when scraped).", ["service"]
)
OUTBOX_OLDEST_PENDING = Gauge(
    "tollgate_outbox_oldest_pending_seconds",
    "Age of the oldest unpublished outbox row, 0 when none (read when scraped).",
    ["service"],
)
EVENTS_PUBLISHED = Counter(
    "tollgate_events_published",
    "Events the outbox relay published, confirmed by the broker.",
    ["service", "event_type"],
)
EVENTS_HANDLED = Counter(
    "tollgate_events_handled",
    "Deliveries a consumer settled, by outcome: ok, retried, dead_lettered, given_back (its database was away; "
    "no attempt counted) or dropped (a broadcast message that failed; its owner resynchronises).",
    ["service", "queue", "outcome"],
)
DEAD_LETTER_MESSAGES = Gauge(
    "tollgate_dead_letter_messages",
    "Messages parked in a work queue's dead-letter queue (read from the broker).",
    ["service", "queue"],
)
UNROUTED_MESSAGES = Gauge(
    "tollgate_unrouted_messages",
    "Messages in ops.unrouted: published with no queue bound (read from the broker).",
    ["service"],
)
CONSUMERS_PAUSED = Gauge(
    "tollgate_consumers_paused",
    "1 while the consumers stopped taking messages because a dependency is away, else 0.",
    ["service", "dependency"],
)
BROKER_CONNECTED = Gauge(
    "tollgate_broker_connected", "1 while the bus is connected to the broker, else 0.", ["service"]
)

# --- the product --------------------------------------------------------------------
GATEWAY_IP_DENIALS = Counter(
    "tollgate_gateway_ip_denials", "Requests the gateway refused by an account's IP rules.", ["service"]
)
GATEWAY_RULES_AGE = Gauge(
    "tollgate_gateway_rules_age_seconds",
    "Seconds since the gateway last loaded the IP rules snapshot from auth; +Inf before the first.",
    ["service"],
)
LOGINS = Counter(
    "tollgate_logins",
    "Login steps that ended: succeeded, or the failure's reason (invalid_credentials, inactive, ip_not_allowed, "
    "throttled, wrong_totp_code).",
    ["service", "outcome"],
)
PAYMENTS = Counter(
    "tollgate_payments",
    "Payments by provider (sandbox, stripe, offline) and the status they moved to (online: pending, succeeded, "
    "failed, expired; offline: submitted, approved, rejected).",
    ["service", "provider", "status"],
)
OFFLINE_PAYMENTS_PENDING = Gauge(
    "tollgate_offline_payments_pending",
    "Offline payments awaiting finance's decision (read when scraped).",
    ["service"],
)
OFFLINE_PAYMENTS_OLDEST_PENDING = Gauge(
    "tollgate_offline_payments_oldest_pending_seconds",
    "Seconds since the oldest offline payment still awaiting finance was submitted; 0 when none waits.",
    ["service"],
)
INVOICES_ISSUED = Counter(
    "tollgate_invoices_issued",
    "Documents issued, by kind (invoice, receipt).",
    ["service", "kind"],
)

GAUGES: tuple[Gauge, ...] = (
    OUTBOX_PENDING,
    OUTBOX_OLDEST_PENDING,
    DEAD_LETTER_MESSAGES,
    UNROUTED_MESSAGES,
    CONSUMERS_PAUSED,
    BROKER_CONNECTED,
    GATEWAY_RULES_AGE,
    OFFLINE_PAYMENTS_PENDING,
    OFFLINE_PAYMENTS_OLDEST_PENDING,
)
"""The gauges set at scrape time, per service."""

DEPENDENCIES = ("database",)
"""What consumers pause for (`Subscription.depends_on`)."""


def service_of_queue(queue: str) -> str:
    """The service consuming a queue: they are named `<service>.<purpose>`."""
    return queue.split(".", 1)[0]


HANDLED_OUTCOMES = ("ok", "retried", "dead_lettered", "given_back", "dropped")
LOGIN_OUTCOMES = ("succeeded", "invalid_credentials", "inactive", "ip_not_allowed", "throttled", "wrong_totp_code")
PAYMENT_STATUSES = {
    "sandbox": ("pending", "succeeded", "failed", "expired"),
    "stripe": ("pending", "succeeded", "failed", "expired"),
    "offline": ("submitted", "approved", "rejected"),
}
DOCUMENT_KINDS = ("invoice", "receipt")
# The counters a service moves, by their fixed label values: created at 0 when it starts.
FIXED_SERIES: dict[str, tuple[tuple[Counter, tuple[str, ...]], ...]] = {
    "auth": tuple((LOGINS, ("auth", outcome)) for outcome in LOGIN_OUTCOMES),
    "billing": tuple(
        (PAYMENTS, ("billing", provider, status))
        for provider, statuses in PAYMENT_STATUSES.items()
        for status in statuses
    ),
    "invoicing": tuple((INVOICES_ISSUED, ("invoicing", kind)) for kind in DOCUMENT_KINDS),
}


def start_at_zero(service: str, consumed_queues: Iterable[str]) -> None:
    """Create `service`'s counter series at 0 before their first event.

    A series that first appears at 1 has no earlier sample: `rate()` and
    `increase()` see nothing, so the first parked message of a queue never
    showed in the failure rate or its alert, and the first logins went uncounted
    on the dashboard (seen under load, issue 16).
    """
    for queue in consumed_queues:
        for outcome in HANDLED_OUTCOMES:
            handled(queue, outcome)
    for counter, labels in FIXED_SERIES.get(service, ()):
        counter.labels(*labels)


@lru_cache(maxsize=256)
def handled(queue: str, outcome: str) -> Counter:
    """The counter of `queue`'s deliveries that ended in `outcome` (children cached: one per queue and outcome)."""
    return EVENTS_HANDLED.labels(service_of_queue(queue), queue, outcome)


@lru_cache(maxsize=256)
def published(service: str, event_type: str) -> Counter:
    return EVENTS_PUBLISHED.labels(service, event_type)
