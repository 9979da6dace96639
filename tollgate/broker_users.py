"""Tollgate's broker logins: the one table of who may do what on RabbitMQ, and RabbitMQ definitions from it.

`footprints()` reads each process's queues from the code that declares them (the
services' handlers, billing's outbound queue, the revocation and IP-rule
broadcasts, the finance service's contract, `tollgate dlq`'s queues);
`tollgate_shared.bus.permissions.grant_for` turns each into its grant.
Everything else is made from `table()` or held to it by a test: the definitions
Compose loads at start (`tollgate broker definitions`), the Kubernetes `Permission`
and `TopicPermission` objects (deploy/kubernetes/rabbitmq/), docs/operations.md.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
from collections.abc import Mapping
from importlib import import_module
from pathlib import Path
from typing import Any

from billing.settings import BillingSettings
from finance_approval.contract import SUBMISSIONS_QUEUE
from invoicing.settings import InvoicingSettings
from tollgate.services import all_queues
from tollgate_shared.bus.permissions import BrokerGrant, BusFootprint, grants
from tollgate_shared.revocations import revocation_queue
from tollgate_shared.settings import SettingsError

# The processes that log in to the broker, each with its own login.
SERVICE_ROLES = ("auth", "billing", "invoicing", "gateway")
# The finance approval service; `tollgate dlq` (operators); KEDA's RabbitMQ scaler (Kubernetes only).
ROLES = (*SERVICE_ROLES, "finance", "operator", "keda")
# Compose runs no KEDA: it gets every other login.
COMPOSE_ROLES = tuple(role for role in ROLES if role != "keda")
# RabbitMQ's own hashing for imported password hashes (salted SHA-256, the broker's default).
HASHING_ALGORITHM = "rabbit_password_hashing_sha256"


def footprints() -> dict[str, BusFootprint]:
    """What each login's process does on the broker, read from the code that does it."""
    billing = import_module("billing.handlers")
    invoicing = import_module("invoicing.handlers")
    gateway = import_module("gateway.rule_sync")
    return {
        "auth": BusFootprint(publishes="auth"),
        "billing": BusFootprint(
            consumes=tuple(billing.event_handlers(BillingSettings.model_construct())),
            fills=tuple(billing.OUTBOUND_QUEUES),
            broadcasts=(revocation_queue("billing"),),
            publishes="billing",
        ),
        "invoicing": BusFootprint(
            consumes=tuple(invoicing.event_handlers(InvoicingSettings.model_construct())),
            broadcasts=(revocation_queue("invoicing"),),
            publishes="invoicing",
        ),
        "gateway": BusFootprint(broadcasts=(gateway.BROADCAST_QUEUE,)),
        # Declares nothing: billing owns its queue and the platform the exchange (finance_approval/service.py).
        "finance": BusFootprint(consumes_passively=(SUBMISSIONS_QUEUE,), publishes="finance", declares_topology=False),
        "operator": BusFootprint(parked=tuple(all_queues()), declares_topology=False),
        # The management API shows a vhost's queues to a `monitoring` user with any permission there.
        "keda": BusFootprint(declares_topology=False, tags=("monitoring",)),
    }


def table() -> dict[str, BrokerGrant]:
    """Role → its grant: the permission table (docs/operations.md, "Broker users")."""
    return grants(footprints())


def password_hash(password: str, salt: bytes | None = None) -> str:
    """RabbitMQ's `rabbit_password_hashing_sha256`: base64(salt ‖ SHA-256(salt ‖ password)), a 4-byte salt."""
    salt = secrets.token_bytes(4) if salt is None else salt
    return base64.b64encode(salt + hashlib.sha256(salt + password.encode()).digest()).decode()


def definitions(
    vhost: str,
    passwords: Mapping[str, str],
    *,
    logins: Mapping[str, str] | None = None,
    administrator: tuple[str, str] | None = None,
) -> dict[str, Any]:
    """RabbitMQ definitions creating `vhost` and a login per role in `passwords` (role → password), granted
    as `table()` says; `logins` renames roles (default: the role's name). `administrator` (name, password) adds
    a login for people (the management UI), tagged `administrator` with every permission in the vhost."""
    grant_of = table()
    unknown = set(passwords) - set(grant_of)
    if unknown:
        raise ValueError(f"no such broker role: {', '.join(sorted(unknown))}")
    users: list[dict[str, Any]] = []
    permissions: list[dict[str, str]] = []
    topic_permissions: list[dict[str, str]] = []
    for role, password in passwords.items():
        login = (logins or {}).get(role, role)
        grant = grant_of[role]
        users.append(_user(login, password, grant.tags))
        permissions.append(
            {"user": login, "vhost": vhost, "configure": grant.configure, "write": grant.write, "read": grant.read}
        )
        if grant.topic is not None:
            topic_permissions.append(
                {
                    "user": login,
                    "vhost": vhost,
                    "exchange": grant.topic.exchange,
                    "write": grant.topic.write,
                    "read": grant.topic.read,
                }
            )
    if administrator is not None:
        name, password = administrator
        users.append(_user(name, password, ("administrator",)))
        permissions.append({"user": name, "vhost": vhost, "configure": ".*", "write": ".*", "read": ".*"})
    return {
        "users": users,
        "vhosts": [{"name": vhost}],
        "permissions": permissions,
        "topic_permissions": topic_permissions,
    }


def _user(name: str, password: str, tags: tuple[str, ...]) -> dict[str, Any]:
    # Tags as one comma-separated string: what every RabbitMQ 3.x imports (3.13 also takes a list).
    return {
        "name": name,
        "password_hash": password_hash(password),
        "hashing_algorithm": HASHING_ALGORITHM,
        "tags": ",".join(tags),
    }


def password_variable(role: str) -> str:
    return f"TOLLGATE_BROKER_{role.upper()}_PASSWORD"


ADMIN_PASSWORD_VARIABLE = "TOLLGATE_BROKER_ADMIN_PASSWORD"  # noqa: S105 (the variable's name, not a password)


def write_definitions(
    output: Path, *, vhost: str, roles: tuple[str, ...], administrator: str | None, env: Mapping[str, str]
) -> None:
    """`tollgate broker definitions`: the definitions file, passwords from `TOLLGATE_BROKER_<ROLE>_PASSWORD`."""
    wanted = [password_variable(role) for role in roles]
    if administrator is not None:
        wanted.append(ADMIN_PASSWORD_VARIABLE)
    missing = [name for name in wanted if not env.get(name)]
    if missing:
        raise SettingsError(f"set {', '.join(missing)}: the broker logins' passwords")
    document = definitions(
        vhost,
        {role: env[password_variable(role)] for role in roles},
        administrator=(administrator, env[ADMIN_PASSWORD_VARIABLE]) if administrator is not None else None,
    )
    # Written whole, then renamed: the broker never reads half a file. World-readable, because the broker
    # runs as another user than this process; it holds salted hashes, never a password.
    partial = output.with_name(output.name + ".partial")
    partial.write_text(json.dumps(document, indent=2) + "\n")
    os.chmod(partial, 0o644)
    partial.replace(output)


def markdown_table() -> str:
    """The table as docs/operations.md shows it (a unit test holds the page to it)."""
    rows = [
        "| login | configure | write | read | topic `tollgate.events` write / read | tags |",
        "|---|---|---|---|---|---|",
    ]
    for role, grant in table().items():
        topic = f"{_cell(grant.topic.write)} / {_cell(grant.topic.read)}" if grant.topic is not None else "—"
        cells = [role, _cell(grant.configure), _cell(grant.write), _cell(grant.read), topic, ", ".join(grant.tags)]
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows) + "\n"


def _cell(pattern: str) -> str:
    # A `|` inside a table cell ends the cell unless escaped, even in a code span.
    return "`" + pattern.replace("|", "\\|") + "`"
