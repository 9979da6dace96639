"""How the gateway turns a service's host name into the addresses of its replicas.

The system's resolver (DNS, /etc/hosts) by default: a Kubernetes headless
Service answers one A record per ready pod. `TOLLGATE_UPSTREAM_HOSTS_FILE`
names a hosts(5)-format file read again on every resolve, whose names win
over DNS: replicas added by hand on one machine, and tests, which have no DNS
server to change.
"""

from __future__ import annotations

import asyncio
import socket
from ipaddress import ip_address
from pathlib import Path
from typing import Protocol


class Resolver(Protocol):
    async def addresses(self, host: str) -> list[str]:
        """Every address `host` has now, in the resolver's order; OSError when it has none."""
        ...


class SystemResolver:
    """getaddrinfo, in the event loop's thread pool: whatever the machine's resolver says, uncached."""

    async def addresses(self, host: str) -> list[str]:
        infos = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
        return list(dict.fromkeys(str(info[4][0]) for info in infos))


def parse_hosts(text: str) -> dict[str, list[str]]:
    """`address name [name...]` lines (# comments); every line naming a host adds an address to it."""
    names: dict[str, list[str]] = {}
    for line in text.splitlines():
        fields = line.split("#", 1)[0].split()
        if len(fields) < 2:
            continue
        try:
            address = str(ip_address(fields[0]))
        except ValueError:
            continue  # as the C library does: a line it cannot read names nothing
        for name in fields[1:]:
            known = names.setdefault(name.lower(), [])
            if address not in known:
                known.append(address)
    return names


class HostsFileResolver:
    """Names in `path` (read on every call: edit it and the next resolve sees it), others from `fallback`."""

    def __init__(self, path: Path, fallback: Resolver) -> None:
        self.path = path
        self.fallback = fallback

    async def addresses(self, host: str) -> list[str]:
        text = await asyncio.to_thread(self.path.read_text)
        listed = parse_hosts(text).get(host.lower())
        if listed:
            return listed
        return await self.fallback.addresses(host)
