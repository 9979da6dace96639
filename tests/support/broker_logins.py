"""A vhost of the test's own with Tollgate's least-privilege logins, made from the definitions Compose loads.

`tollgate.broker_users.definitions` (what `tollgate broker definitions` writes for Compose) is imported into the
test broker with `rabbitmqctl import_definitions`, then every login's URL is handed to the test. Logins are
broker-wide, so each gets a prefix of its own; the vhost and the logins are deleted afterwards.
"""

from __future__ import annotations

import json
import secrets
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlsplit

from tests.support.infrastructure import Infrastructure
from tollgate.broker_users import ROLES, definitions
from tollgate.throwaway import ThrowawayRabbitMQ

LOOPBACK = {"127.0.0.1", "localhost", "::1"}


@dataclass(frozen=True)
class BrokerLogins:
    vhost: str
    logins: dict[str, str]  # role → login name
    urls: dict[str, str]  # role → AMQP URL of that login on the vhost


def rabbitmqctl(infra: Infrastructure, *args: str, check: bool = True) -> str:
    """`rabbitmqctl ARGS` against the test broker's node: a throwaway one, or the one on this machine."""
    nodes = [started for started in infra.throwaway if isinstance(started, ThrowawayRabbitMQ)]
    if nodes:
        return nodes[0].ctl(*args, check=check).stdout
    host = urlsplit(infra.amqp_url).hostname
    if host not in LOOPBACK:
        raise AssertionError(f"the broker logins are made with rabbitmqctl on this machine; {host} is not local")
    command = ["rabbitmqctl", *args]
    return subprocess.run(command, check=check, capture_output=True, text=True, timeout=60).stdout


def create_logins(infra: Infrastructure) -> BrokerLogins:
    prefix = f"tg-{secrets.token_hex(4)}"
    vhost = f"{prefix}-logins"
    logins = {role: f"{prefix}-{role}" for role in ROLES}
    passwords = {role: secrets.token_urlsafe(16) for role in ROLES}
    document = definitions(vhost, passwords, logins=logins)
    with tempfile.TemporaryDirectory() as folder:
        # The node reads the file, as its own user: the folder and the file must be readable to it.
        Path(folder).chmod(0o755)
        path = Path(folder) / "definitions.json"
        path.write_text(json.dumps(document))
        path.chmod(0o644)
        rabbitmqctl(infra, "import_definitions", str(path))
        _wait_for_import(infra, vhost, set(logins.values()))
    base = urlsplit(infra.amqp_url)
    urls = {
        role: f"amqp://{logins[role]}:{passwords[role]}@{base.hostname}:{base.port or 5672}/{quote(vhost, safe='')}"
        for role in ROLES
    }
    return BrokerLogins(vhost, logins, urls)


def _wait_for_import(infra: Infrastructure, vhost: str, logins: set[str], within: float = 30.0) -> None:
    """The import runs on in the node after rabbitmqctl returns: wait until every login has its permissions."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        listed = rabbitmqctl(infra, "list_permissions", "-p", vhost, "--silent", check=False)
        if logins <= {line.split("\t", 1)[0] for line in listed.splitlines()}:
            return
        time.sleep(0.2)
    raise AssertionError(f"the definitions of {vhost} were not imported within {within:.0f} s")


def delete_logins(infra: Infrastructure, made: BrokerLogins) -> None:
    rabbitmqctl(infra, "delete_vhost", made.vhost)
    for login in made.logins.values():
        rabbitmqctl(infra, "delete_user", login)
