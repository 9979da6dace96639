"""The permission table of the broker logins, and everything held to it (docs/operations.md "Broker users").

The table is made from the code (`tollgate.broker_users`); the Kubernetes objects in
deploy/kubernetes/rabbitmq/ and the page in docs/operations.md must say the same. Whether
the grants are enough and no more is tried on a real broker:
tests/integration/test_broker_users.py.
"""

from __future__ import annotations

import os
import re
import stat
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from tollgate.broker_users import ROLES, markdown_table, password_variable, table
from tollgate.cli import BROKER_ROLES, main
from tollgate_shared.bus import topology
from tollgate_shared.bus.permissions import BusFootprint, grant_for
from tollgate_shared.events.catalogue import CATALOGUE

ROOT = Path(__file__).resolve().parents[2]
BROKER_OBJECTS = ROOT / "deploy" / "kubernetes" / "rabbitmq"
OPERATIONS = ROOT / "docs" / "operations.md"
COMPOSE_FILE = ROOT / "docker-compose.yml"
CLUSTER = "tollgate-rabbitmq"
# The catalogue's producer → the login that publishes its events.
PUBLISHER_LOGIN = {
    "auth": "auth",
    "billing": "billing",
    "invoicing": "invoicing",
    "finance approval service": "finance",
}


@cache
def broker_objects() -> dict[tuple[str, str], dict[str, Any]]:
    """(kind, name) → object, from every file the directory's kustomization lists."""
    kustomization = yaml.safe_load((BROKER_OBJECTS / "kustomization.yaml").read_text())
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for resource in kustomization["resources"]:
        for document in yaml.safe_load_all((BROKER_OBJECTS / resource).read_text()):
            if document:
                key = (document["kind"], document["metadata"]["name"])
                assert key not in found, f"{key} twice"
                found[key] = document
    return found


def of_kind(kind: str) -> dict[str, dict[str, Any]]:
    return {name: document for (k, name), document in broker_objects().items() if k == kind}


def test_the_command_line_offers_every_role() -> None:
    assert BROKER_ROLES == ROLES


def test_kubernetes_has_a_user_with_a_permission_per_login() -> None:
    users = of_kind("User")
    assert set(users) == {f"tollgate-{role}" for role in ROLES}
    for role, grant in table().items():
        user = users[f"tollgate-{role}"]
        assert user["apiVersion"] == "rabbitmq.com/v1beta1"
        assert user["spec"]["rabbitmqClusterReference"] == {"name": CLUSTER}
        assert tuple(user["spec"].get("tags", ())) == grant.tags, role
        # Generated credentials: the operator writes Secret <User name>-user-credentials (username, password).
        assert "importCredentialsSecret" not in user["spec"], role


def test_kubernetes_permissions_are_the_table() -> None:
    permissions = of_kind("Permission")
    assert set(permissions) == {f"tollgate-{role}" for role in ROLES}
    for role, grant in table().items():
        spec = permissions[f"tollgate-{role}"]["spec"]
        assert spec["vhost"] == "/"
        assert spec["userReference"] == {"name": f"tollgate-{role}"}
        assert spec["rabbitmqClusterReference"] == {"name": CLUSTER}
        expected = {"configure": grant.configure, "write": grant.write, "read": grant.read}
        assert spec["permissions"] == expected, f"{role}: deploy/kubernetes/rabbitmq/users.yaml should say {expected}"


def test_kubernetes_topic_permissions_are_the_table() -> None:
    topics = of_kind("TopicPermission")
    grants = table()
    assert set(topics) == {f"tollgate-{role}" for role, grant in grants.items() if grant.topic is not None}
    for role, grant in grants.items():
        if grant.topic is None:
            continue
        spec = topics[f"tollgate-{role}"]["spec"]
        assert (spec["vhost"], spec["userReference"], spec["rabbitmqClusterReference"]) == (
            "/",
            {"name": f"tollgate-{role}"},
            {"name": CLUSTER},
        )
        expected = {"exchange": grant.topic.exchange, "write": grant.topic.write, "read": grant.topic.read}
        assert spec["permissions"] == expected, f"{role}: deploy/kubernetes/rabbitmq/users.yaml should say {expected}"


def test_the_cluster_has_three_nodes_of_the_version_compose_runs() -> None:
    (cluster,) = of_kind("RabbitmqCluster").values()
    assert cluster["metadata"]["name"] == CLUSTER
    assert cluster["spec"]["replicas"] == 3  # a quorum of 2: one node may be down
    compose_image = yaml.safe_load(COMPOSE_FILE.read_text())["services"]["rabbitmq"]["image"]
    assert cluster["spec"]["image"] == compose_image
    for bound in ("requests", "limits"):
        assert {"cpu", "memory"} <= set(cluster["spec"]["resources"][bound]), bound
    (budget,) = of_kind("PodDisruptionBudget").values()
    assert budget["spec"]["maxUnavailable"] == 1
    assert budget["spec"]["selector"]["matchLabels"] == {"app.kubernetes.io/name": CLUSTER}


def test_docs_show_the_table() -> None:
    assert markdown_table() in OPERATIONS.read_text(), "docs/operations.md should show:\n" + markdown_table()


def test_each_event_type_is_published_by_its_producers_login_alone() -> None:
    grants = table()
    for event_type, spec in CATALOGUE.items():
        allowed = {
            role
            for role, grant in grants.items()
            if grant.topic is not None and re.match(grant.topic.write, event_type) and _writes_events(grant.write)
        }
        assert allowed == {PUBLISHER_LOGIN[spec.producer]}, event_type


def _writes_events(write: str) -> bool:
    return re.fullmatch(write, topology.EXCHANGE) is not None


@pytest.mark.parametrize("delay", [0.2, 1, 10, 60, 0.5, 1000, 3600])
def test_retry_tiers_of_any_delay_are_in_the_grant(delay: float) -> None:
    grant = grant_for(BusFootprint(consumes=("billing.auth-events",), publishes="billing"))
    tier = topology.retry_queue("billing.auth-events", delay)
    assert re.fullmatch(grant.configure, tier) and re.fullmatch(grant.read, tier), tier


def test_broadcast_queues_of_any_instance_name_are_in_the_grant_and_nothing_beside() -> None:
    grant = grant_for(BusFootprint(broadcasts=("gateway.auth-broadcast",)))
    for instance in ("gateway@web-7f9c:8000", "gateway-test", "gateway-1"):
        name = f"gateway.auth-broadcast.{instance}"
        assert all(re.fullmatch(pattern, name) for pattern in (grant.configure, grant.write, grant.read)), name
    for other in ("gateway.auth-broadcast", "gateway.auth-broadcastX", "billing.auth-events", "amq.default"):
        assert not re.fullmatch(grant.configure, other), other


def test_a_process_that_declares_nothing_is_granted_nothing_to_configure() -> None:
    grants = table()
    assert grants["finance"].configure == grants["operator"].configure == grants["keda"].configure == "^$"
    assert (grants["keda"].write, grants["keda"].read, grants["keda"].topic) == ("^$", "^$", None)


def test_broker_definitions_refuses_without_the_passwords(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for role in ROLES:
        monkeypatch.delenv(password_variable(role), raising=False)
    output = tmp_path / "definitions.json"
    assert main(["broker", "definitions", "--output", str(output), "--role", "finance"]) == 2
    assert password_variable("finance") in capsys.readouterr().err
    assert not output.exists()


def test_broker_definitions_writes_hashes_readable_by_the_broker_and_no_password(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(password_variable("finance"), "a-finance-password")
    output = tmp_path / "definitions.json"
    assert main(["broker", "definitions", "--output", str(output), "--role", "finance"]) == 0
    assert stat.S_IMODE(os.stat(output).st_mode) == 0o644
    assert "a-finance-password" not in output.read_text()
    assert '"name": "finance"' in output.read_text()
