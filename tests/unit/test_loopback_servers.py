"""The embedded servers' sockets: an answer leaves at once, not after the client's delayed ACK."""

from __future__ import annotations

import asyncio
import socket

from tollgate.dev import bind_loopback


async def test_connections_to_a_loopback_server_have_nagle_off() -> None:
    # Otherwise each answer uvicorn writes in two parts (headers, body) waits ~40 ms.
    nodelay: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    async def accepted(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nodelay.set_result(writer.get_extra_info("socket").getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
        writer.close()

    server = await asyncio.start_server(accepted, sock=bind_loopback())
    async with server:
        _, writer = await asyncio.open_connection(*server.sockets[0].getsockname())
        assert await asyncio.wait_for(nodelay, timeout=5) == 1
        writer.close()
