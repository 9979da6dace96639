"""nginx as a reverse proxy in front of auth: the ordinary implementation the gateway is read against.

Debian's package (`/usr/sbin/nginx`), started by the bench as a child process
in the foreground (`daemon off`) with a config generated into a temporary
directory: `master_process on` and **one worker** (`worker_processes 1`),
because the gateway is one process; its CPU is the master's and the worker's,
read from /proc like every other target's. Upstream connections are kept alive
(`upstream { keepalive N; }`, HTTP/1.1, `Connection ""`), as the gateway's
pooled aiohttp client keeps them; no access log, the error log in the bench's
log directory. Started as root, the worker runs as `nobody`.

What nginx does here is pass-through: it adds `X-Forwarded-For`,
`X-Forwarded-Proto`, `X-Request-ID` and the two security headers the gateway
adds to every answer, and forwards everything else as it came. It does **not**
do what the gateway does per request, so read the ratio with that in mind:
no access token check (signature, expiry, revoked session), no IP rules, no
rate limit on the login paths, no one-credential rule, no stripping of the
client's `Authorization`/`tg_access`, no signed edge header (the bench signs it
and wrk sends it, as for the straight-to-auth runs), no trace context, no
metrics, no retry on another endpoint. The minimal aiohttp proxy
(`mini_proxy.py`) stays the Python baseline that does the gateway's
forwarding work and signing without the checks.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

DEBIAN_PATH = "/usr/sbin/nginx"
HEALTH_PATH = "/nginx-healthz"
# Enough that neither side ever closes a connection for its count in a run (nginx's default is 1,000;
# uvicorn and the gateway close none for a count).
KEEPALIVE_REQUESTS = 1_000_000


class NginxMissing(RuntimeError):
    pass


def nginx_path() -> str:
    """Debian's nginx, or the one on PATH; NginxMissing says how to install it."""
    found = shutil.which("nginx") or (DEBIAN_PATH if os.access(DEBIAN_PATH, os.X_OK) else None)
    if found is None:
        raise NginxMissing(
            "the nginx target needs nginx: apt-get update && apt-get install -y nginx "
            "(Debian's package; the bench starts its own, the system's service may stay stopped)"
        )
    return found


def config(*, listen_port: int, upstream: str, keepalive: int, work_dir: Path, error_log: Path) -> str:
    """nginx.conf for one worker proxying everything to `upstream` (host:port) over kept-alive connections."""
    user = "user nobody nogroup;\n" if os.geteuid() == 0 else ""
    temp = "\n".join(
        f"    {kind}_temp_path {work_dir / kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return f"""daemon off;
master_process on;
worker_processes 1;
{user}pid {work_dir / "nginx.pid"};
error_log {error_log} warn;

events {{
    worker_connections 4096;
}}

http {{
    access_log off;
    server_tokens off;
{temp}
    keepalive_requests {KEEPALIVE_REQUESTS};

    upstream auth {{
        server {upstream};
        keepalive {keepalive};
        keepalive_requests {KEEPALIVE_REQUESTS};
    }}

    server {{
        listen 127.0.0.1:{listen_port};

        location = {HEALTH_PATH} {{
            default_type application/json;
            return 200 '{{"status":"ok"}}';
        }}

        location / {{
            proxy_pass http://auth;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $remote_addr;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_set_header X-Request-ID $request_id;
            add_header X-Content-Type-Options nosniff always;
            add_header Referrer-Policy no-referrer always;
        }}
    }}
}}
"""


@dataclass
class NginxConfig:
    """A generated config in a temporary directory of its own, and the command that serves it."""

    work_dir: Path
    path: Path

    @classmethod
    def create(cls, *, listen_port: int, upstream: str, keepalive: int, error_log: Path) -> NginxConfig:
        work_dir = Path(tempfile.mkdtemp(prefix="bench-gateway-nginx-"))
        work_dir.chmod(0o755)  # the worker (nobody, when started as root) reaches its temp paths in here
        path = work_dir / "nginx.conf"
        text = config(
            listen_port=listen_port, upstream=upstream, keepalive=keepalive, work_dir=work_dir, error_log=error_log
        )
        path.write_text(text)
        return cls(work_dir, path)

    def command(self) -> list[str]:
        return [nginx_path(), "-p", str(self.work_dir), "-c", str(self.path)]

    def remove(self) -> None:
        shutil.rmtree(self.work_dir, ignore_errors=True)


def child_pids(parent: int) -> list[int]:
    """Processes whose parent is `parent` (nginx's workers under its master), from /proc."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        with contextlib.suppress(OSError, ValueError, IndexError):
            with open(f"/proc/{entry}/stat") as stat:
                raw = stat.read()
            if int(raw[raw.rindex(")") + 2 :].split()[1]) == parent:
                found.append(int(entry))
    return sorted(found)
