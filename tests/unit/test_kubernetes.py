"""deploy/kubernetes renders, validates, and gives every service what it needs (DESIGN.md §9, §10).

Each overlay is rendered with the real `kubectl kustomize`; the objects are validated
strictly against the Kubernetes schemas and their operators' pinned CRDs
(tests/support/kubernetes_schemas.py), then held against the services' real settings
classes, the real `tollgate` command line and the alert rules.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from scripts.kubernetes_prometheus_rule import PROMETHEUS_RULE, render
from tests.support.deployment import (
    BACKENDS,
    LEAST_PRE_STOP_SECONDS,
    METRICS_PORT,
    SHARED_SETTINGS,
    SHUTDOWN_MARGIN_SECONDS,
    TOLLGATE_SERVICES,
    UPSTREAM_SETTINGS,
    build_settings,
    created_databases,
    service,
    settings_names,
)
from tests.support.kubernetes_schemas import (
    CRDS,
    KUBERNETES,
    OVERLAYS,
    crd_files,
    missing_crds,
    problems,
    rendered,
)
from tests.support.observability import ALERT_RULES
from tollgate.cli import _parser as tollgate_command_line
from tollgate_shared.settings import ServiceSettings

Manifest = dict[str, Any]
# Kinds the operators' CRDs define and the overlays must declare (issue 20).
CUSTOM_KINDS = {"Cluster", "Database", "ScheduledBackup", "ObjectStore", "ScaledObject", "ServiceMonitor"}
# The environment variables a container gets from a Secret, with one random value each per test
# run; $(NAME) in a later variable is expanded as the kubelet does.
SECRET_VALUES: dict[tuple[str, str], str] = {}
REFERENCE = re.compile(r"\$\((\w+)\)")


def objects(overlay: str, kind: str) -> dict[str, Manifest]:
    return {manifest["metadata"]["name"]: manifest for manifest in rendered(overlay) if manifest["kind"] == kind}


def pod_spec(workload: Manifest) -> dict[str, Any]:
    spec: dict[str, Any] = workload["spec"]["template"]["spec"]
    return spec


def containers(workload: Manifest) -> Iterator[dict[str, Any]]:
    yield from pod_spec(workload).get("initContainers", [])
    yield from pod_spec(workload)["containers"]


def main_container(workload: Manifest) -> dict[str, Any]:
    (container,) = pod_spec(workload)["containers"]
    return container


def container_environment(overlay: str, container: dict[str, Any]) -> dict[str, str]:
    """The container's variables as the kubelet sets them; those from a Secret get a random URL-safe value."""
    config_maps = objects(overlay, "ConfigMap")
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        env.update(config_maps[source["configMapRef"]["name"]]["data"])
    for variable in container.get("env", []):
        source = variable.get("valueFrom", {})
        if "secretKeyRef" in source:
            reference = source["secretKeyRef"]
            value = SECRET_VALUES.setdefault((reference["name"], reference["key"]), secrets.token_urlsafe(24))
        elif "configMapKeyRef" in source:
            reference = source["configMapKeyRef"]
            value = config_maps[reference["name"]]["data"][reference["key"]]
        else:
            value = REFERENCE.sub(lambda match: env.get(match[1], match[0]), variable["value"])
        env[variable["name"]] = value
    return env


# --- rendering and schemas -------------------------------------------------------------


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_overlay_renders_and_validates_strictly(overlay: str) -> None:
    found = [problem for manifest in rendered(overlay) for problem in problems(manifest)]
    assert found == []


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_custom_resource_is_validated_against_its_operators_crd(overlay: str) -> None:
    for path in crd_files():
        folder = path.relative_to(CRDS).parts[0]
        assert re.fullmatch(r"[a-z-]+-\d+\.\d+\.\d+", folder), f"{folder}: crds/<operator>-<version>/"
    missing = missing_crds(rendered(overlay))
    if missing:
        # The CRD files come from the operators' repositories; see deploy/kubernetes/crds/README.md.
        pytest.skip(f"no CRD under {CRDS} (TOLLGATE_TEST_KUBERNETES_CRDS) for: {', '.join(sorted(missing))}")


def test_production_declares_every_operator_resource() -> None:
    assert {manifest["kind"] for manifest in rendered("prod")} >= CUSTOM_KINDS


WIDGET_CRD = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "widgets.example.com"},
    "spec": {
        "group": "example.com",
        "names": {"kind": "Widget", "plural": "widgets"},
        "scope": "Namespaced",
        "versions": [
            {
                "name": "v1",
                "served": True,
                "storage": True,
                "schema": {
                    "openAPIV3Schema": {
                        "type": "object",
                        "properties": {
                            "apiVersion": {"type": "string"},
                            "kind": {"type": "string"},
                            "metadata": {"type": "object"},
                            "spec": {
                                "type": "object",
                                "properties": {
                                    "replicas": {"type": "integer"},
                                    "port": {"x-kubernetes-int-or-string": True},
                                    "note": {"type": "string", "nullable": True},
                                    "settings": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                                    "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                                    "template": {
                                        "type": "object",
                                        "x-kubernetes-embedded-resource": True,
                                        "properties": {"spec": {"type": "object", "properties": {}}},
                                    },
                                },
                            },
                        },
                    }
                },
            },
            {"name": "v0", "served": False, "storage": False, "schema": {"openAPIV3Schema": {"type": "object"}}},
        ],
    },
}


def widget(**spec: Any) -> Manifest:
    return {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w", "labels": {}}, "spec": spec}


def test_the_validator_reads_a_crd_as_the_api_server_does(tmp_path: Path) -> None:
    folder = tmp_path / "crds" / "example-1.0.0"
    folder.mkdir(parents=True)
    (folder / "widgets.yaml").write_text(yaml.safe_dump(WIDGET_CRD))
    crds = tmp_path / "crds"

    def refused(manifest: Manifest) -> list[str]:
        return list(problems(manifest, crds))

    assert refused(widget(replicas=2, port=8080, note=None, settings={"anything": [1]}, labels={"a": "b"})) == []
    assert refused(widget(port="http", template={"apiVersion": "v1", "kind": "Pod", "metadata": {}, "spec": {}})) == []
    assert any("replica" in problem for problem in refused(widget(replica=2))), "an unknown field is refused"
    assert refused(widget(replicas="two")), "a wrong type is refused"
    assert refused(widget(port=1.5)), "int-or-string is an integer or a string"
    assert refused(widget(labels={"a": 1}))
    assert refused(widget(template={"spec": {"x": 1}})), "an empty object schema without preserve is closed"
    assert refused({**widget(), "metadata": {"name": "w", "label": {}}}), "metadata is ObjectMeta"
    assert refused({**widget(), "status": {}}), "the root is closed too"
    served_not = {**widget(), "apiVersion": "example.com/v0"}
    assert missing_crds((served_not,), crds) == {"example.com/v0 Widget"}, "a version not served has no schema"
    assert refused(served_not) == [], "reported by missing_crds, not here"
    (deployment,) = [m for m in rendered("prod") if m["kind"] == "Deployment" and m["metadata"]["name"] == "billing"]
    assert any("replica" in p for p in problems({**deployment, "spec": {**deployment["spec"], "replica": 2}}))
    assert refused({"apiVersion": "v1", "kind": "Widget", "metadata": {"name": "w"}}), "not a Kubernetes kind"


# --- workloads ---------------------------------------------------------------------------


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_deployment_has_probes_limits_a_pdb_a_network_policy_and_spreads(overlay: str) -> None:
    deployments = objects(overlay, "Deployment")
    assert set(deployments) == set(TOLLGATE_SERVICES)
    budgets = objects(overlay, "PodDisruptionBudget").values()
    policies = objects(overlay, "NetworkPolicy").values()
    for name, deployment in deployments.items():
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        main = main_container(deployment)
        assert main["readinessProbe"]["httpGet"]["path"] == "/readyz", name
        assert main["livenessProbe"]["httpGet"]["path"] == "/healthz", name
        assert main["startupProbe"]["httpGet"]["path"] == "/healthz", name
        for container in containers(deployment):
            for bound in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(container["resources"][bound]), f"{name} {container['name']} {bound}"
        assert [b for b in budgets if selects(b["spec"]["selector"], labels)], f"{name} has no PodDisruptionBudget"
        own = [p for p in policies if p["spec"]["podSelector"] and selects(p["spec"]["podSelector"], labels)]
        assert [p for p in own if p["spec"].get("ingress")], f"{name}: no NetworkPolicy lets anything in"
        keys = {c["topologyKey"] for c in pod_spec(deployment)["topologySpreadConstraints"]}
        assert {"kubernetes.io/hostname", "topology.kubernetes.io/zone"} <= keys, name


def selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    """Whether a label selector (matchLabels and In/NotIn/Exists expressions) selects `labels`."""
    if not selector.get("matchLabels", {}).items() <= labels.items():
        return False
    for expression in selector.get("matchExpressions", []):
        value, operator = labels.get(expression["key"]), expression["operator"]
        if operator == "In" and value not in expression["values"]:
            return False
        if operator == "NotIn" and value in expression["values"]:
            return False
        if operator == "Exists" and value is None:
            return False
    return True


@pytest.mark.parametrize("name", TOLLGATE_SERVICES)
def test_kubernetes_lets_a_pod_leave_the_endpoints_then_drain_before_it_is_killed(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    deployment = objects("prod", name and "Deployment")[name]
    container = main_container(deployment)
    grace = build_settings(name, container_environment("prod", container), monkeypatch).shutdown_grace_seconds
    command = container["lifecycle"]["preStop"]["exec"]["command"]
    assert command[0] == "sleep" and len(command) == 2, command  # coreutils' sleep is in the slim image
    pre_stop = float(command[1])
    assert pre_stop >= LEAST_PRE_STOP_SECONDS
    # terminationGracePeriodSeconds counts from the start of preStop, not from SIGTERM.
    kill_after = pod_spec(deployment)["terminationGracePeriodSeconds"]
    assert pre_stop + grace + SHUTDOWN_MARGIN_SECONDS <= kill_after


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_services_reach_their_deployments_and_the_gateway_reaches_them(overlay: str) -> None:
    services = objects(overlay, "Service")
    gateway_env = container_environment(overlay, main_container(objects(overlay, "Deployment")["gateway"]))
    for name, deployment in objects(overlay, "Deployment").items():
        container = main_container(deployment)
        args = tollgate_command_line().parse_args(container["args"])
        assert (args.command, args.service) == ("serve", name)
        assert args.port in [port["containerPort"] for port in container["ports"]]
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert services[name]["spec"]["selector"].items() <= labels.items(), name
        ports = {port["name"]: port for port in services[name]["spec"]["ports"]}
        assert ports["metrics"]["port"] == METRICS_PORT
        if name != "gateway":
            url = urlsplit(gateway_env[f"TOLLGATE_{name.upper()}_URL"])
            assert url.hostname == name
            assert url.port == ports["http"]["port"]


def test_billing_service_is_headless_so_the_gateway_sees_each_replica() -> None:
    assert objects("prod", "Service")["billing"]["spec"]["clusterIP"] == "None"


@pytest.mark.parametrize("overlay", OVERLAYS)
@pytest.mark.parametrize("name", TOLLGATE_SERVICES)
def test_environment_builds_the_production_settings(overlay: str, name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    env = container_environment(overlay, main_container(objects(overlay, "Deployment")[name]))
    configured = {key for key in env if key.startswith("TOLLGATE_")}
    assert configured - settings_names(name) == set(), "not settings of this service"
    required = set(SHARED_SETTINGS) | (
        {*UPSTREAM_SETTINGS} if name == "gateway" else {f"TOLLGATE_{name.upper()}_DATABASE_URL"}
    )
    assert required <= configured
    settings = build_settings(name, env, monkeypatch)
    assert settings.env == "production"
    assert "$(" not in str(settings.amqp_url), "a $(VAR) the kubelet cannot expand"


def cluster_services(overlay: str) -> set[str]:
    """The in-cluster names the services may dial: Services here and the operators' ones."""
    (cluster,) = objects(overlay, "Cluster").values()
    # CloudNativePG makes <cluster>-rw for the primary; the RabbitMQ operator a Service named
    # as its RabbitmqCluster (deploy/kubernetes/rabbitmq).
    return {*objects(overlay, "Service"), f"{cluster['metadata']['name']}-rw", "tollgate-rabbitmq"}


@pytest.mark.parametrize("name", BACKENDS)
def test_each_service_logs_in_to_its_own_database_with_the_role_cloudnativepg_manages(name: str) -> None:
    (cluster,) = objects("prod", "Cluster").values()
    roles = {role["name"]: role for role in cluster["spec"]["managed"]["roles"]}
    databases = {d["spec"]["name"]: d["spec"] for d in objects("prod", "Database").values()}
    deployment = objects("prod", "Deployment")[name]
    for container in containers(deployment):
        env = container_environment("prod", container)
        url = urlsplit(env[f"TOLLGATE_{name.upper()}_DATABASE_URL"])
        database = url.path.lstrip("/")
        assert databases[database]["owner"] == url.username == f"tollgate_{name}", container["name"]
        assert databases[database]["cluster"]["name"] == cluster["metadata"]["name"]
        assert url.hostname in cluster_services("prod")
        # The password is the one the operator sets on the role: the same Secret.
        secret = roles[url.username]["passwordSecret"]["name"]
        assert url.password == SECRET_VALUES[(secret, "password")], container["name"]


def test_the_database_per_service_matches_what_compose_creates() -> None:
    declared = {d["spec"]["name"]: d["spec"]["owner"] for d in objects("prod", "Database").values()}
    assert declared == created_databases()


def test_billing_takes_finance_decisions_only_from_the_finance_services_broker_user(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    env = container_environment("prod", main_container(objects("prod", "Deployment")["billing"]))
    settings = build_settings("billing", env, monkeypatch)
    assert settings.finance_broker_user == SECRET_VALUES[("tollgate-finance-user-credentials", "username")]


@pytest.mark.parametrize("name", TOLLGATE_SERVICES)
def test_each_service_logs_in_to_the_broker_as_its_own_user(name: str) -> None:
    env = container_environment("prod", main_container(objects("prod", "Deployment")[name]))
    url = urlsplit(env["TOLLGATE_AMQP_URL"])
    assert url.hostname in cluster_services("prod") and url.port == 5672
    # The Messaging Topology Operator's Secret for User tollgate-<name> (deploy/kubernetes/rabbitmq).
    assert url.username == SECRET_VALUES[(f"tollgate-{name}-user-credentials", "username")]
    assert url.password == SECRET_VALUES[(f"tollgate-{name}-user-credentials", "password")]


# --- migrations before serving -----------------------------------------------------------


@pytest.mark.parametrize("name", BACKENDS)
def test_each_backend_migrates_its_own_database_before_it_serves(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    deployment = objects("prod", "Deployment")[name]
    (init,) = pod_spec(deployment)["initContainers"]
    args = tollgate_command_line().parse_args(init["args"])
    assert (args.command, args.service) == ("migrate", name)
    assert init["image"] == main_container(deployment)["image"], "the migrations of the image about to serve"
    init_env = container_environment("prod", init)
    serve_env = container_environment("prod", main_container(deployment))
    key = f"TOLLGATE_{name.upper()}_DATABASE_URL"
    assert init_env[key] == serve_env[key]
    # `tollgate migrate` builds the service's production settings before touching a database.
    assert build_settings(name, init_env, monkeypatch).env == "production"


# --- scaling -------------------------------------------------------------------------------


def autoscalers(overlay: str) -> dict[str, tuple[int, int]]:
    """Deployment -> (least, most) replicas, from its HPA or ScaledObject."""
    found: dict[str, tuple[int, int]] = {}
    for hpa in objects(overlay, "HorizontalPodAutoscaler").values():
        target = hpa["spec"]["scaleTargetRef"]["name"]
        assert target not in found, f"{target} has two autoscalers: they would fight"
        found[target] = (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"])
    for scaled in objects(overlay, "ScaledObject").values():
        target = scaled["spec"]["scaleTargetRef"]["name"]
        assert target not in found, f"{target} has an HPA and a ScaledObject: KEDA's HPA and it would fight"
        found[target] = (scaled["spec"]["minReplicaCount"], scaled["spec"]["maxReplicaCount"])
    return found


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_deployment_has_exactly_one_autoscaler_and_no_fixed_count(overlay: str) -> None:
    scaled = autoscalers(overlay)
    assert set(scaled) == set(TOLLGATE_SERVICES)
    for name, deployment in objects(overlay, "Deployment").items():
        assert "replicas" not in deployment["spec"], f"{name}: an apply would reset its autoscaler's count"
    assert scaled["gateway"][0] >= 2, "at least two gateways"


def test_production_runs_every_service_at_least_twice() -> None:
    assert all(least >= 2 for least, _ in autoscalers("prod").values())


@pytest.mark.parametrize("name", ["billing", "invoicing"])
def test_billing_and_invoicing_scale_on_cpu_and_on_every_queue_they_consume(name: str) -> None:
    from billing.handlers import DECISIONS_QUEUE

    scaled = objects("prod", "ScaledObject")[name]
    triggers = scaled["spec"]["triggers"]
    assert {"type": "cpu", "metricType": "Utilization", "metadata": {"value": "70"}} in triggers
    queues = {t["metadata"]["queueName"]: t for t in triggers if t["type"] == "rabbitmq"}
    expected = {"billing": {DECISIONS_QUEUE, "billing.auth-events"}, "invoicing": {"invoicing.billing-events"}}
    assert set(queues) == expected[name]
    authentications = objects("prod", "TriggerAuthentication")
    for trigger in queues.values():
        # The management API counts unacknowledged (prefetched) messages; AMQP would not.
        assert trigger["metadata"]["protocol"] == "http"
        assert trigger["metadata"]["mode"] == "QueueLength"
        # Each pod holds up to the prefetch unacknowledged, which the depth counts: a threshold
        # below it would keep idle pods.
        assert float(trigger["metadata"]["value"]) > ServiceSettings.model_fields["bus_prefetch"].default
        assert urlsplit(trigger["metadata"]["host"]).hostname in cluster_services("prod")
        authentication = authentications[trigger["authenticationRef"]["name"]]
        secrets_used = {ref["name"] for ref in authentication["spec"]["secretTargetRef"]}
        assert secrets_used == {"tollgate-keda-user-credentials"}


def test_the_queues_keda_watches_are_the_ones_the_services_consume() -> None:
    from billing.handlers import DECISIONS_QUEUE

    billing_handlers = (KUBERNETES.parents[1] / "services" / "billing" / "billing" / "handlers.py").read_text()
    invoicing_handlers = (KUBERNETES.parents[1] / "services" / "invoicing" / "invoicing" / "handlers.py").read_text()
    assert '"billing.auth-events"' in billing_handlers and DECISIONS_QUEUE == "billing.finance-decisions"
    assert '"invoicing.billing-events"' in invoicing_handlers


# --- network -------------------------------------------------------------------------------


def policies_selecting(overlay: str, labels: dict[str, str]) -> list[Manifest]:
    return [p for p in objects(overlay, "NetworkPolicy").values() if selects(p["spec"]["podSelector"], labels)]


def allowed_sources(overlay: str, labels: dict[str, str], port: int) -> list[dict[str, Any]]:
    """The `from` peers of every ingress rule that admits `port` on pods with `labels`."""
    peers: list[dict[str, Any]] = []
    for policy in policies_selecting(overlay, labels):
        for rule in policy["spec"].get("ingress", []):
            ports = rule.get("ports")
            if ports is None or any(p["port"] <= port <= p.get("endPort", p["port"]) for p in ports):
                peers.extend(rule.get("from", [{}]))
    return peers


def test_by_default_nothing_goes_in_or_out() -> None:
    (deny,) = [p for p in objects("prod", "NetworkPolicy").values() if p["spec"]["podSelector"] == {}][:1]
    assert deny["spec"]["policyTypes"] == ["Ingress", "Egress"] and "ingress" not in deny["spec"]


def test_only_the_gateway_is_reachable_from_the_ingress_controller() -> None:
    for name in TOLLGATE_SERVICES:
        peers = allowed_sources("prod", {"app.kubernetes.io/name": name}, 8000)
        from_ingress = [p for p in peers if "tollgate/ingress-controller" in str(p.get("namespaceSelector"))]
        assert bool(from_ingress) == (name == "gateway"), name
        assert {} not in peers, f"{name}: open to anything"


def test_services_are_reached_only_from_the_gateway_and_auth_from_the_services_too() -> None:
    for name in BACKENDS:
        peers = allowed_sources("prod", {"app.kubernetes.io/name": name}, 8000)
        sources = {
            value
            for peer in peers
            for expression in peer["podSelector"].get("matchExpressions", [])
            for value in expression["values"]
        } | {value for peer in peers for value in peer["podSelector"].get("matchLabels", {}).values()}
        assert sources == ({"gateway", "billing", "invoicing"} if name == "auth" else {"gateway"}), name
        metrics = allowed_sources("prod", {"app.kubernetes.io/name": name}, METRICS_PORT)
        assert metrics == [{"namespaceSelector": {"matchLabels": {"tollgate/metrics-scraper": "true"}}}]


def test_the_databases_admit_only_the_services_that_use_them_and_cloudnativepg() -> None:
    (cluster,) = objects("prod", "Cluster").values()
    peers = allowed_sources("prod", {"cnpg.io/cluster": cluster["metadata"]["name"]}, 5432)
    pods = [p for p in peers if "namespaceSelector" not in p]
    assert {
        "podSelector": {
            "matchExpressions": [{"key": "app.kubernetes.io/name", "operator": "In", "values": list(BACKENDS)}]
        }
    } in pods
    assert {"podSelector": {"matchLabels": {"cnpg.io/cluster": cluster["metadata"]["name"]}}} in pods
    assert len(pods) == 2
    gateway = {"app.kubernetes.io/name": "gateway"}
    assert not any(selects(p["podSelector"], gateway) for p in pods)


def test_the_broker_admits_amqp_only_from_the_services() -> None:
    rabbitmq = {"app.kubernetes.io/name": "tollgate-rabbitmq", "app.kubernetes.io/component": "rabbitmq"}
    peers = allowed_sources("prod", rabbitmq, 5672)
    assert all("namespaceSelector" not in peer for peer in peers)
    for name in TOLLGATE_SERVICES:
        assert any(selects(peer["podSelector"], {"app.kubernetes.io/name": name}) for peer in peers), name


# --- observability ------------------------------------------------------------------------


def test_the_prometheus_rule_is_the_alert_rules_file() -> None:
    assert PROMETHEUS_RULE.read_text() == render(), "run `make kubernetes-alerts`"
    (rule,) = objects("prod", "PrometheusRule").values()
    assert rule["spec"]["groups"] == yaml.safe_load(ALERT_RULES.read_text())["groups"]


def test_observability_is_on_in_production_and_off_in_development() -> None:
    assert objects("prod", "ServiceMonitor") and objects("prod", "PrometheusRule")
    assert not objects("dev", "ServiceMonitor") and not objects("dev", "PrometheusRule")
    (monitor,) = objects("prod", "ServiceMonitor").values()
    assert [endpoint["port"] for endpoint in monitor["spec"]["endpoints"]] == ["metrics"]
    for name, service_object in objects("prod", "Service").items():
        assert selects(monitor["spec"]["selector"], service_object["metadata"]["labels"]), name
    prod = objects("prod", "ConfigMap")["tollgate-config"]["data"]
    assert "OTEL_EXPORTER_OTLP_ENDPOINT" in prod
    assert "OTEL_EXPORTER_OTLP_ENDPOINT" not in objects("dev", "ConfigMap")["tollgate-config"]["data"]


# --- backups, overlays, secrets --------------------------------------------------------------


def test_production_backs_up_postgresql_to_the_object_store_the_cluster_archives_to() -> None:
    (cluster,) = objects("prod", "Cluster").values()
    (store,) = objects("prod", "ObjectStore").values()
    (scheduled,) = objects("prod", "ScheduledBackup").values()
    (archiver,) = [plugin for plugin in cluster["spec"]["plugins"] if plugin.get("isWALArchiver")]
    assert archiver["parameters"]["barmanObjectName"] == store["metadata"]["name"]
    assert scheduled["spec"]["cluster"]["name"] == cluster["metadata"]["name"]
    assert scheduled["spec"]["method"] == "plugin"
    assert scheduled["spec"]["pluginConfiguration"]["name"] == archiver["name"]
    assert cluster["spec"]["instances"] == 3


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_each_overlay_sets_its_image_and_public_url(overlay: str) -> None:
    images = {container["image"] for d in objects(overlay, "Deployment").values() for container in containers(d)}
    assert len(images) == 1
    env = container_environment(overlay, main_container(objects(overlay, "Deployment")["billing"]))
    assert urlsplit(env["TOLLGATE_PUBLIC_URL"]).scheme == ("https" if overlay == "prod" else "http")


def test_no_secret_value_is_committed() -> None:
    committed = [
        (path, document)
        for path in sorted(KUBERNETES.rglob("*.yaml"))
        for document in yaml.safe_load_all(path.read_text())
        if document and document.get("kind") == "Secret"
    ]
    for path, secret in committed:
        values = {**secret.get("data", {}), **secret.get("stringData", {})}
        assert all(value == "" for value in values.values()), f"{path}: a Secret with a value"
    for overlay in OVERLAYS:
        assert not objects(overlay, "Secret"), f"{overlay} would apply a Secret: they are created at deploy time"
        assert "secretGenerator" not in (KUBERNETES / "overlays" / overlay / "kustomization.yaml").read_text()


def test_every_secret_the_pods_read_is_created_at_deploy_time_or_by_an_operator() -> None:
    example = yaml.safe_load((KUBERNETES / "examples" / "secret.yaml").read_text())
    operator_made = re.compile(r"tollgate-[a-z]+-user-credentials")  # the Messaging Topology Operator's
    documented = (KUBERNETES.parents[1] / "docs" / "operations.md").read_text()
    for deployment in objects("prod", "Deployment").values():
        for container in containers(deployment):
            for variable in container.get("env", []):
                reference = variable.get("valueFrom", {}).get("secretKeyRef")
                if not reference:
                    continue
                if reference["name"] == example["metadata"]["name"]:
                    assert reference["key"] in example["stringData"], reference
                elif not operator_made.fullmatch(reference["name"]):
                    assert reference["name"] in documented, f"{reference['name']}: how is it created?"


def test_kubernetes_expects_the_rabbitmq_compose_runs() -> None:
    (namespace,) = objects("prod", "Namespace").values()
    compose_version = re.match(r"rabbitmq:(\d+\.\d+)", service("rabbitmq")["image"])
    assert compose_version
    assert namespace["metadata"]["labels"]["tollgate/expects-rabbitmq"] == compose_version[1]
