"""The deployment files give every service what it needs (DESIGN.md §4, §6, §9).

Nothing here needs Docker: docker-compose.yml, the Dockerfile, the init script
and the observability profile's files (deploy/observability) are read as files
and held against the services' real settings classes, the real `tollgate`
command and `tollgate stack`'s plan. deploy/kubernetes is test_kubernetes.py's.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import secrets
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jsonschema
import pytest
import yaml
from sqlalchemy.engine import make_url

from billing.settings import BillingSettings
from gateway.settings import GatewaySettings
from tests.support.compose_spec import compose_schema
from tests.support.deployment import (
    BACKENDS,
    INIT_SQL,
    METRICS_PORT,
    SHARED_SETTINGS,
    SHUTDOWN_MARGIN_SECONDS,
    TOLLGATE_SERVICES,
    UPSTREAM_SETTINGS,
    build_settings,
    compose,
    created_databases,
    service,
    settings_names,
)
from tests.support.observability import ALERT_RULES, DASHBOARD, OBSERVABILITY
from tollgate.broker_users import COMPOSE_ROLES, HASHING_ALGORITHM, password_variable, table, write_definitions
from tollgate.cli import _parser as tollgate_command_line
from tollgate.stack import plan as stack_plan

ROOT = Path(__file__).resolve().parents[2]
BROKER_DEFINITIONS_CONF = ROOT / "deploy" / "rabbitmq" / "30-tollgate-definitions.conf"
DOCKERFILE = ROOT / "deploy" / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
COLLECTOR_CONFIG = ROOT / "deploy" / "otel-collector.yaml"
PROMETHEUS_CONFIG = OBSERVABILITY / "prometheus" / "prometheus.yml"
PROMETHEUS_STACK_CONFIG = OBSERVABILITY / "prometheus" / "prometheus-stack.yml"
GRAFANA_PROVISIONING = OBSERVABILITY / "grafana" / "provisioning"

ALL_COMPOSE_SERVICES = {
    "rabbitmq",
    "postgres",
    "otel-collector",
    "migrate",
    "broker-definitions",
    *TOLLGATE_SERVICES,
}
ONE_SHOT = {"migrate", "broker-definitions", "dlq"}
# The collector's image is built FROM scratch: no shell or client to run a check with; the finance
# service is a queue consumer with no HTTP to probe.
NO_HEALTHCHECK = {"otel-collector", "finance-approval"}
# Started only by `docker compose --profile observability up`.
OBSERVABILITY_PROFILE = "observability"
OBSERVABILITY_SERVICES = {"prometheus", "grafana"}
# Services started only under a profile: the observability pair, the finance service, the dlq tool.
PROFILES = {
    **dict.fromkeys(OBSERVABILITY_SERVICES, OBSERVABILITY_PROFILE),
    "finance-approval": "finance",
    "dlq": "tools",
}
# `${NAME}`, `${NAME:?message}`, `${NAME:-default}` (and the forms without a colon).
INTERPOLATION = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[?-])(?P<arg>[^}]*))?\}")
# Compose variables get one random value each for the whole run, so values that
# must agree across services (the internal key, a database password) do.
GENERATED: dict[str, str] = {}


def interpolate(value: str) -> str:
    """What Compose would substitute, with a random secret for every required variable."""

    def substitute(match: re.Match[str]) -> str:
        if match["op"] in (":?", "?"):
            return GENERATED.setdefault(match["name"], secrets.token_urlsafe(32))
        if match["op"] in (":-", "-"):
            return match["arg"]
        raise AssertionError(f"{match[0]} is neither required (:?) nor defaulted (:-); Compose would leave it empty")

    return INTERPOLATION.sub(substitute, value)


# --- docker-compose.yml --------------------------------------------------------


def raw_environment(name: str) -> dict[str, str]:
    environment = service(name).get("environment") or {}
    if isinstance(environment, list):
        environment = dict(entry.split("=", 1) for entry in environment)
    return {key: "" if value is None else str(value) for key, value in environment.items()}


def environment(name: str) -> dict[str, str]:
    return {key: interpolate(value) for key, value in raw_environment(name).items()}


def served_port(name: str) -> int:
    args = tollgate_command_line().parse_args(service(name)["command"])
    assert args.command == "serve"
    assert args.service == name
    port: int = args.port
    return port


def role_password_variables() -> dict[str, str]:
    """Role -> the postgres container's environment variable holding its password."""
    sql = INIT_SQL.read_text()
    psql_variables = dict(re.findall(r"^\\getenv (\w+) (\w+)$", sql, re.MULTILINE))
    roles = re.findall(r"^CREATE ROLE (\w+) LOGIN PASSWORD :'(\w+)';", sql, re.MULTILINE)
    return {role: psql_variables[variable] for role, variable in roles}


def test_compose_runs_the_whole_system() -> None:
    assert set(compose()["services"]) >= ALL_COMPOSE_SERVICES


def test_rabbitmq_is_pinned_to_a_version_with_management() -> None:
    image = service("rabbitmq")["image"]
    match = re.fullmatch(r"rabbitmq:(\d+)\.(\d+)(?:\.\d+)?-management(?:-alpine)?", image)
    assert match, f"{image!r} pins no major version or lacks the management plugin"
    # Quorum queues with at-least-once dead-lettering need 3.10 or newer.
    assert (int(match[1]), int(match[2])) >= (3, 10)


def test_third_party_images_are_pinned() -> None:
    assert re.fullmatch(r"postgres:16(\.\d+)*(-\w+)?", service("postgres")["image"])
    assert re.fullmatch(r"otel/opentelemetry-collector-contrib:\d+\.\d+\.\d+", service("otel-collector")["image"])
    assert re.fullmatch(r"prom/prometheus:v\d+\.\d+\.\d+", service("prometheus")["image"])
    assert re.fullmatch(r"grafana/grafana(-oss)?:\d+\.\d+\.\d+", service("grafana")["image"])


def test_billing_runs_two_replicas() -> None:
    assert service("billing")["deploy"]["replicas"] == 2


def test_the_four_services_and_the_migration_run_one_image_built_from_deploy_dockerfile() -> None:
    names = [*TOLLGATE_SERVICES, "migrate"]
    for name in names:
        build = service(name)["build"]
        assert (build["context"], build["dockerfile"]) == (".", "deploy/Dockerfile"), name
        assert (ROOT / build["context"] / build["dockerfile"]).is_file()
    assert len({service(name)["image"] for name in names}) == 1


def test_each_service_serves_itself_and_migrate_runs_once() -> None:
    for name in TOLLGATE_SERVICES:
        assert served_port(name) > 0
        assert tollgate_command_line().parse_args(service(name)["command"]).host == "0.0.0.0"
    assert tollgate_command_line().parse_args(service("migrate")["command"]).command == "migrate"
    assert service("migrate")["restart"] == "no"


def test_every_long_running_container_has_a_healthcheck() -> None:
    for name in set(compose()["services"]) - ONE_SHOT - NO_HEALTHCHECK:
        healthcheck = service(name).get("healthcheck") or {}
        assert healthcheck.get("test") and not healthcheck.get("disable"), f"{name} has no healthcheck"
    assert "ping" in service("rabbitmq")["healthcheck"]["test"]
    assert "rabbitmq-diagnostics" in service("rabbitmq")["healthcheck"]["test"]
    assert "pg_isready" in service("postgres")["healthcheck"]["test"]


def test_service_healthchecks_probe_the_port_the_service_listens_on() -> None:
    for name in TOLLGATE_SERVICES:
        probe = " ".join(service(name)["healthcheck"]["test"])
        urls = re.findall(r"http://127\.0\.0\.1:(\d+)/(healthz|readyz)", probe)
        assert urls, f"{name}'s healthcheck asks neither /healthz nor /readyz"
        assert all(int(port) == served_port(name) for port, _ in urls), name


def test_depends_on_waits_for_the_right_condition() -> None:
    for name, definition in compose()["services"].items():
        depends_on = definition.get("depends_on", {})
        assert isinstance(depends_on, dict), f"{name}: depends_on without conditions"
        for dependency, spec in depends_on.items():
            if dependency in ONE_SHOT:
                expected = "service_completed_successfully"
            elif service(dependency).get("healthcheck"):
                expected = "service_healthy"
            else:
                expected = "service_started"
            assert spec["condition"] == expected, f"{name} -> {dependency}"
    for name in BACKENDS:
        assert set(service(name)["depends_on"]) >= {"migrate", "postgres", "rabbitmq"}
    assert set(service("gateway")["depends_on"]) >= {*BACKENDS, "rabbitmq"}
    assert "postgres" in service("migrate")["depends_on"]


@pytest.mark.parametrize("name", BACKENDS)
def test_backend_services_get_their_settings(name: str) -> None:
    required = {*SHARED_SETTINGS, f"TOLLGATE_{name.upper()}_DATABASE_URL"}
    assert required <= set(raw_environment(name))
    assert raw_environment(name)["TOLLGATE_ENV"] == "production"


def test_gateway_gets_its_upstreams_and_the_internal_key() -> None:
    env = environment("gateway")
    assert {*UPSTREAM_SETTINGS, "TOLLGATE_INTERNAL_KEY", "TOLLGATE_SECRET_KEY", "TOLLGATE_ENV"} <= set(env)
    assert env["TOLLGATE_TRUSTED_PROXIES"] == ""
    for upstream in BACKENDS:
        # One address per upstream: billing's replicas answer behind its one DNS name.
        url = urlsplit(env[f"TOLLGATE_{upstream.upper()}_URL"])
        assert (url.scheme, url.hostname, url.port) == ("http", upstream, served_port(upstream))
    assert any(str(port).split(":")[-1] == str(served_port("gateway")) for port in service("gateway")["ports"])


def test_secrets_are_required_and_shared_by_every_service() -> None:
    for setting in ("TOLLGATE_SECRET_KEY", "TOLLGATE_INTERNAL_KEY"):
        values = {raw_environment(name)[setting] for name in [*TOLLGATE_SERVICES, "migrate"]}
        # The gateway signs with the internal key and the services verify: one value for all.
        assert len(values) == 1, f"{setting} differs between services: {values}"
        (value,) = values
        assert re.fullmatch(r"\$\{\w+:\?[^}]*\}", value), f"{setting} must be a required ${{VAR:?...}}"


@pytest.mark.parametrize("name", TOLLGATE_SERVICES)
def test_compose_sets_only_real_settings(name: str) -> None:
    configured = {key for key in raw_environment(name) if key.startswith("TOLLGATE_")}
    assert configured, f"{name} gets no settings"
    assert configured - settings_names(name) == set()


def test_migrate_sets_only_settings_of_the_services_it_migrates() -> None:
    known = set().union(*(settings_names(name) for name in BACKENDS))
    assert {key for key in raw_environment("migrate") if key.startswith("TOLLGATE_")} - known == set()


@pytest.mark.parametrize("name", TOLLGATE_SERVICES)
def test_compose_environment_builds_the_production_settings(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    env = environment(name)
    settings = build_settings(name, env, monkeypatch)
    assert settings.env == "production"
    assert settings.internal_key.get_secret_value() == env["TOLLGATE_INTERNAL_KEY"]
    assert settings.amqp_url == env["TOLLGATE_AMQP_URL"]
    if isinstance(settings, GatewaySettings):
        assert settings.upstream_urls() == {up: [f"http://{up}:{served_port(up)}"] for up in BACKENDS}
        assert settings.trusted_networks() == []
    else:
        assert settings.effective_database_url == env[f"TOLLGATE_{name.upper()}_DATABASE_URL"]


@pytest.mark.parametrize("name", BACKENDS)
def test_migrate_migrates_the_database_each_service_uses(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = build_settings(name, environment("migrate"), monkeypatch)
    assert settings.effective_database_url == environment(name)[f"TOLLGATE_{name.upper()}_DATABASE_URL"]


@pytest.mark.parametrize("name", BACKENDS)
def test_each_service_logs_in_to_a_database_the_init_script_creates(name: str) -> None:
    url = make_url(environment(name)[f"TOLLGATE_{name.upper()}_DATABASE_URL"])
    assert (url.drivername, url.host, url.port) == ("postgresql+asyncpg", "postgres", 5432)
    databases = created_databases()
    assert url.database in databases, f"the init script does not create {url.database}"
    assert databases[url.database] == url.username, "the service should log in as its database's owner"
    # The password in the URL is the one the init script gives the role.
    password_variable = role_password_variables()[url.username]
    assert url.password == environment("postgres")[password_variable]


def test_postgres_runs_the_init_script() -> None:
    mounts = [str(volume) for volume in service("postgres")["volumes"]]
    target = f"./{INIT_SQL.relative_to(ROOT)}:/docker-entrypoint-initdb.d/"
    assert any(mount.startswith(target) for mount in mounts), mounts
    assert len(created_databases()) == len(BACKENDS)


# --- the broker's logins (tollgate.broker_users, docs/operations.md "Broker users") ---

# Compose service → (the variable holding its broker URL, the login it must use).
BROKER_LOGINS = {
    **{name: ("TOLLGATE_AMQP_URL", name) for name in TOLLGATE_SERVICES},
    "finance-approval": ("TOLLGATE_FINANCE_AMQP_URL", "finance"),
    "dlq": ("TOLLGATE_AMQP_URL", "operator"),
}


def broker_url(name: str) -> Any:
    variable, _ = BROKER_LOGINS[name]
    return urlsplit(environment(name)[variable])


@pytest.fixture(scope="module")
def compose_definitions(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """What `broker-definitions` writes, run as Compose runs it (its command line and its environment)."""
    args = tollgate_command_line().parse_args(service("broker-definitions")["command"])
    assert (args.command, args.broker_command) == ("broker", "definitions")
    output = tmp_path_factory.mktemp("broker") / Path(args.output).name
    roles = tuple(args.roles or COMPOSE_ROLES)
    write_definitions(
        output, vhost=args.vhost, roles=roles, administrator=args.administrator, env=environment("broker-definitions")
    )
    document: dict[str, Any] = json.loads(output.read_text())
    document["_args"] = args
    return document


def verifies(password_hash: str, password: str) -> bool:
    """RabbitMQ's check of a salted SHA-256 hash: the first 4 bytes are the salt."""
    raw = base64.b64decode(password_hash)
    return raw[4:] == hashlib.sha256(raw[:4] + password.encode()).digest()


@pytest.mark.parametrize("name", list(BROKER_LOGINS))
def test_services_log_in_to_the_broker_as_its_user(name: str, compose_definitions: dict[str, Any]) -> None:
    url = broker_url(name)
    _, login = BROKER_LOGINS[name]
    assert (url.scheme, url.hostname, url.port, url.path) == ("amqp", "rabbitmq", 5672, "/")
    assert url.username == login
    [user] = [user for user in compose_definitions["users"] if user["name"] == login]
    assert user["hashing_algorithm"] == HASHING_ALGORITHM
    assert verifies(user["password_hash"], url.password), f"{name}'s password is not its login's"


def test_the_finance_login_is_the_one_billing_trusts() -> None:
    assert BillingSettings.model_fields["finance_broker_user"].default == BROKER_LOGINS["finance-approval"][1]
    assert "TOLLGATE_FINANCE_BROKER_USER" not in raw_environment("billing")


def test_compose_definitions_grant_each_login_what_the_table_says(compose_definitions: dict[str, Any]) -> None:
    grants = table()
    permissions = {entry["user"]: entry for entry in compose_definitions["permissions"]}
    topics = {entry["user"]: entry for entry in compose_definitions["topic_permissions"]}
    assert set(permissions) == {*COMPOSE_ROLES, "tollgate"}
    assert {vhost["name"] for vhost in compose_definitions["vhosts"]} == {"/"}
    for role in COMPOSE_ROLES:
        grant = grants[role]
        granted = permissions[role]
        assert (granted["vhost"], granted["configure"], granted["write"], granted["read"]) == (
            "/",
            grant.configure,
            grant.write,
            grant.read,
        ), role
        if grant.topic is None:
            assert role not in topics
        else:
            assert (topics[role]["exchange"], topics[role]["write"], topics[role]["read"]) == (
                grant.topic.exchange,
                grant.topic.write,
                grant.topic.read,
            ), role
    # The administrator is for people (the management UI); no process logs in as it.
    [admin] = [user for user in compose_definitions["users"] if user["name"] == "tollgate"]
    assert admin["tags"] == "administrator"
    assert verifies(admin["password_hash"], environment("broker-definitions")["TOLLGATE_BROKER_ADMIN_PASSWORD"])
    assert all(broker_url(name).username != "tollgate" for name in BROKER_LOGINS)


def test_every_broker_password_is_a_required_secret_of_its_own() -> None:
    raw = raw_environment("broker-definitions")
    variables = [raw[password_variable(role)] for role in COMPOSE_ROLES] + [raw["TOLLGATE_BROKER_ADMIN_PASSWORD"]]
    assert all(re.fullmatch(r"\$\{\w+:\?[^}]*\}", value) for value in variables), variables
    assert len(set(variables)) == len(variables), "two logins share a password"


def test_rabbitmq_loads_the_definitions_broker_definitions_writes(compose_definitions: dict[str, Any]) -> None:
    args = compose_definitions["_args"]
    writer_volume, writer_folder = next(
        str(v).split(":")[:2] for v in service("broker-definitions")["volumes"] if not str(v).startswith("./")
    )
    assert Path(args.output).parent == Path(writer_folder)
    mounts = {str(v).split(":")[0]: str(v).split(":")[1] for v in service("rabbitmq")["volumes"]}
    assert f"./{BROKER_DEFINITIONS_CONF.relative_to(ROOT)}" in mounts
    assert mounts[f"./{BROKER_DEFINITIONS_CONF.relative_to(ROOT)}"].startswith("/etc/rabbitmq/conf.d/")
    (loaded,) = re.findall(r"^load_definitions = (\S+)$", BROKER_DEFINITIONS_CONF.read_text(), re.MULTILINE)
    assert Path(loaded) == Path(mounts[writer_volume]) / Path(args.output).name
    assert service("rabbitmq")["depends_on"]["broker-definitions"]["condition"] == "service_completed_successfully"
    # With definitions to load the node creates no default login: none is configured either.
    assert not {"RABBITMQ_DEFAULT_USER", "RABBITMQ_DEFAULT_PASS"} & set(raw_environment("rabbitmq"))


def test_only_the_processes_that_use_the_broker_get_a_broker_url() -> None:
    for name in compose()["services"]:
        has_url = any(key.endswith("AMQP_URL") for key in raw_environment(name))
        assert has_url == (name in BROKER_LOGINS), name


def compose_specification() -> jsonschema.Draft201909Validator:
    """The Compose Specification's schema (tests/support/compose_spec.py), plus the top-level `name`.

    The packaged schema predates `name` (the project's name, in the specification since 2022 and read
    by every Compose v2): it gets the specification's own definition of it, nothing looser.
    """
    schema = compose_schema()
    jsonschema.Draft201909Validator.check_schema(schema)
    schema["properties"].setdefault("name", {"type": "string", "pattern": "^[a-z0-9][a-z0-9_-]*$"})
    return jsonschema.Draft201909Validator(schema)


def test_compose_file_follows_the_compose_specification() -> None:
    errors = sorted(compose_specification().iter_errors(compose()), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{'/'.join(map(str, e.path))}: {e.message}" for e in errors)


@pytest.mark.parametrize(
    ("where", "mistake"),
    [
        (("services", "billing", "deploy", "resources", "limits"), {"cpu": "1.0"}),  # `cpus` misspelt
        (("services", "billing", "depends_on", "postgres"), {"condition": "service_up"}),
        ((), {"name": "Tollgate"}),  # a project name is lower case
    ],
)
def test_the_schema_check_catches_a_mistake(where: tuple[str, ...], mistake: dict[str, str]) -> None:
    broken = json.loads(json.dumps(compose()))
    target = broken
    for key in where:
        target = target[key]
    target.update(mistake)
    assert not compose_specification().is_valid(broken)


def test_every_container_has_cpu_and_memory_limits() -> None:
    for name, definition in compose()["services"].items():
        limits = definition.get("deploy", {}).get("resources", {}).get("limits", {})
        assert float(limits.get("cpus", 0)) > 0, f"{name} has no CPU limit"
        assert re.fullmatch(r"\d+[MG]", str(limits.get("memory", ""))), f"{name} has no memory limit"


def test_telemetry_goes_to_the_collector() -> None:
    for name in [*TOLLGATE_SERVICES, "migrate"]:
        env = environment(name)
        assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://otel-collector:4318"
        assert env["OTEL_SERVICE_NAME"] == f"tollgate-{name}"
    mounts = [str(volume) for volume in service("otel-collector")["volumes"]]
    assert any(mount.startswith(f"./{COLLECTOR_CONFIG.relative_to(ROOT)}:") for mount in mounts)


def test_collector_receives_otlp_and_batches_to_the_debug_exporter() -> None:
    config = yaml.safe_load(COLLECTOR_CONFIG.read_text())
    assert {"grpc", "http"} <= set(config["receivers"]["otlp"]["protocols"])
    assert "batch" in config["processors"]
    assert "debug" in config["exporters"]
    pipelines = config["service"]["pipelines"]
    assert "traces" in pipelines
    for pipeline in pipelines.values():
        for kind in ("receivers", "processors", "exporters"):
            assert set(pipeline.get(kind, [])) <= set(config[kind]), f"{kind} used but not defined"
        assert "batch" in pipeline["processors"]


# --- the observability profile (deploy/observability) --------------------------


def bind_mounts(name: str) -> dict[str, Path]:
    """Container path -> the repository file or folder mounted there."""
    mounts: dict[str, Path] = {}
    for volume in service(name).get("volumes", []):
        source, target, *_ = str(volume).split(":")
        if source.startswith("./"):
            mounts[target] = ROOT / source
    return mounts


def prometheus_config() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(PROMETHEUS_CONFIG.read_text())
    return loaded


def scrape_jobs(config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {job["job_name"]: job for job in config["scrape_configs"]}


def test_observability_services_start_only_under_their_profile() -> None:
    for name, definition in compose()["services"].items():
        if name in PROFILES:
            assert definition.get("profiles") == [PROFILES[name]], name
        else:
            assert "profiles" not in definition, f"{name} would not start with a plain `docker compose up`"
        if name not in OBSERVABILITY_SERVICES:
            assert not set(definition.get("depends_on", {})) & OBSERVABILITY_SERVICES, name


def test_every_file_compose_mounts_is_in_the_repository() -> None:
    for name in compose()["services"]:
        for target, source in bind_mounts(name).items():
            assert source.exists(), f"{name} mounts {source.relative_to(ROOT)} at {target}: no such file"


def test_observability_listens_on_this_machine_only() -> None:
    for name in OBSERVABILITY_SERVICES:
        assert all(str(port).startswith("127.0.0.1:") for port in service(name)["ports"]), name


def test_prometheus_loads_its_config_and_the_alert_rules() -> None:
    mounts = bind_mounts("prometheus")
    (config_flag,) = [arg for arg in service("prometheus")["command"] if arg.startswith("--config.file=")]
    config_path = config_flag.split("=", 1)[1]
    assert mounts[config_path] == PROMETHEUS_CONFIG
    rule_files = prometheus_config()["rule_files"]
    assert rule_files, "no rule files"
    for rule_file in rule_files:
        # Prometheus resolves a relative rule file against the config's own folder.
        in_container = rule_file if rule_file.startswith("/") else f"{Path(config_path).parent}/{rule_file}"
        assert in_container in mounts, f"{rule_file} is not mounted beside the config"
        assert mounts[in_container].is_file()
        assert (PROMETHEUS_CONFIG.parent / rule_file).resolve() == mounts[in_container].resolve()
    assert mounts[f"{Path(config_path).parent}/{ALERT_RULES.name}"] == ALERT_RULES


def test_prometheus_scrapes_every_service_and_every_billing_replica_on_the_metrics_port() -> None:
    jobs = scrape_jobs(prometheus_config())
    for name in TOLLGATE_SERVICES:
        assert name in jobs, f"no scrape job for {name}"
        job = jobs[name]
        targets = [target for static in job.get("static_configs", []) for target in static["targets"]]
        discovered = job.get("dns_sd_configs", [])
        if service(name).get("deploy", {}).get("replicas", 1) > 1:
            # One target per replica: the service name's A records, not one address balancing over them.
            assert targets == [] and len(discovered) == 1, f"{name} has replicas: scrape each through DNS"
            (dns,) = discovered
            assert (dns["names"], dns["type"], dns["port"]) == ([name], "A", METRICS_PORT)
        else:
            assert targets == [f"{name}:{METRICS_PORT}"], name


def test_grafana_gets_its_provisioning_and_the_dashboards_its_provider_reads() -> None:
    mounts = bind_mounts("grafana")
    assert mounts["/etc/grafana/provisioning"] == GRAFANA_PROVISIONING
    (provider,) = yaml.safe_load((GRAFANA_PROVISIONING / "dashboards" / "tollgate.yml").read_text())["providers"]
    assert mounts[provider["options"]["path"]] == DASHBOARD.parent
    (datasource,) = yaml.safe_load((GRAFANA_PROVISIONING / "datasources" / "prometheus.yml").read_text())["datasources"]
    url = urlsplit(datasource["url"])
    assert url.hostname == "prometheus" and any(
        str(port).endswith(f":{url.port}") for port in service("prometheus")["ports"]
    )
    assert set(service("grafana")["depends_on"]) == {"prometheus"}
    home = raw_environment("grafana")["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert home == f"{provider['options']['path']}/{DASHBOARD.name}"


@pytest.mark.parametrize("password", ["", "a-real-password"])
def test_grafana_refuses_to_start_without_an_admin_password(password: str) -> None:
    assert raw_environment("grafana")["GF_SECURITY_ADMIN_PASSWORD"] == "${GRAFANA_ADMIN_PASSWORD:-}"
    shell, flag, script = service("grafana")["entrypoint"]
    # Compose turns `$$` into `$`; /run.sh (the image's own entrypoint) is not on this machine.
    result = subprocess.run(
        [shell, flag, script.replace("$$", "$")],
        env={"PATH": os.environ["PATH"], "GF_SECURITY_ADMIN_PASSWORD": password},
        capture_output=True,
        text=True,
        check=False,
    )
    if password:
        assert result.returncode != 2 and "run.sh" in result.stderr
    else:
        assert result.returncode == 2 and "GRAFANA_ADMIN_PASSWORD" in result.stderr


def test_the_local_prometheus_config_scrapes_each_process_of_tollgate_stack() -> None:
    """Ports from 9464 in the order of `tollgate.stack.plan`: the layout proposed in docs/operations.md."""
    jobs = scrape_jobs(yaml.safe_load(PROMETHEUS_STACK_CONFIG.read_text()))
    scraped = {
        (job, static["labels"]["process"], target)
        for job, definition in jobs.items()
        for static in definition["static_configs"]
        for target in static["targets"]
        if job != "prometheus"
    }
    expected = {
        (name, instance, f"127.0.0.1:{METRICS_PORT + index}")
        for index, (name, instance, _) in enumerate(stack_plan(8000))
    }
    assert scraped == expected


def duration_seconds(value: str) -> float:
    """A Compose duration such as `30s`, `1m30s` or `1500ms`."""
    units = {"h": 3600, "m": 60, "s": 1, "ms": 0.001, "us": 0.000001}
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|us|h|m|s)", value)
    assert parts and "".join(n + u for n, u in parts) == value, f"{value!r} is not a Compose duration"
    return sum(float(number) * units[unit] for number, unit in parts)


@pytest.mark.parametrize("name", TOLLGATE_SERVICES)
def test_compose_gives_each_service_its_shutdown_grace_before_killing_it(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    grace = build_settings(name, environment(name), monkeypatch).shutdown_grace_seconds
    # No preStop in Compose: SIGTERM comes at once and SIGKILL after stop_grace_period.
    assert grace + SHUTDOWN_MARGIN_SECONDS <= duration_seconds(service(name)["stop_grace_period"])


# --- deploy/Dockerfile ---------------------------------------------------------


def dockerfile_instructions() -> list[tuple[str, str]]:
    text = DOCKERFILE.read_text().replace("\\\n", " ")
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in lines]


def test_dockerfile_installs_the_lock_with_uv_into_app_venv() -> None:
    instructions = dockerfile_instructions()
    runs = " ".join(argument for name, argument in instructions if name == "RUN")
    assert re.search(r"uv sync --frozen --no-dev\b", runs)
    assert "UV_PROJECT_ENVIRONMENT=/app/.venv" in " ".join(arg for name, arg in instructions if name == "ENV")
    stages = [argument for name, argument in instructions if name == "FROM"]
    assert len(stages) >= 2, "a builder stage and a runtime stage"
    arguments = dict(argument.split("=", 1) for name, argument in instructions if name == "ARG" and "=" in argument)
    runtime_image = re.sub(r"\$\{(\w+)\}", lambda m: arguments[m[1]], stages[-1].split()[0])
    assert re.fullmatch(r"python:3\.11[\w.-]*slim[\w.-]*", runtime_image), runtime_image


def test_dockerfile_runs_tollgate_as_a_non_root_user() -> None:
    instructions = dockerfile_instructions()
    users = [argument for name, argument in instructions if name == "USER"]
    assert users and users[-1].split(":")[0] not in ("root", "0")
    entrypoints = [argument for name, argument in instructions if name == "ENTRYPOINT"]
    assert json.loads(entrypoints[-1]) == ["tollgate"]


def test_dockerfile_copies_only_what_the_context_holds() -> None:
    ignored = {line.strip() for line in DOCKERIGNORE.read_text().splitlines() if line.strip()}
    assert {".git", ".venv", "data", ".env"} <= ignored
    for name, argument in dockerfile_instructions():
        if name != "COPY" or argument.startswith("--from"):
            continue
        *sources, _destination = argument.split()
        for source in sources:
            assert (ROOT / source).exists(), f"COPY {source}: not in the repository"
            assert source.rstrip("/").split("/")[0] not in ignored, f"COPY {source}: excluded by .dockerignore"
