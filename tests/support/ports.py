"""What the replica tests share: a free local port."""

from __future__ import annotations

import socket

from tests.support.harness import free_port_pair


def port_free_on(hosts: list[str]) -> int:
    """A port nobody listens on at any of `hosts` (loopback addresses: all of 127.0.0.0/8 is)."""
    for _ in range(50):
        port = free_port_pair()[0]
        try:
            for host in hosts:
                with socket.socket() as probe:
                    probe.bind((host, port))
        except OSError:
            continue
        return port
    raise AssertionError("no port free on every address")
