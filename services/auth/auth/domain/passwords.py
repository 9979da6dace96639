"""Password hashing with argon2id, off the event loop (it costs ~85 ms of CPU)."""

import asyncio

from argon2 import PasswordHasher

# Parameters chosen on purpose (RFC 9106's second recommendation, lighter on
# memory): about 40 ms on this kind of machine, so logins don't saturate it.
_hasher = PasswordHasher(time_cost=2, memory_cost=19_456, parallelism=1)


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(_hasher.hash, password)
