"""Passwords: the policy for new ones, and argon2id hashing off the event loop."""

from __future__ import annotations

import asyncio
import os
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from zxcvbn.frequency_lists import FREQUENCY_LISTS

MIN_LENGTH = 12
MAX_LENGTH = 1024

# OWASP's lightened argon2id (19 MiB, one lane, two passes): about three times the logins
# per core of argon2-cffi's defaults, still 19 MiB per guess (docs/decisions.md, Auth: password hashing).
HASHER = PasswordHasher(time_cost=2, memory_cost=19_456, parallelism=1)


class WeakPassword(ValueError):
    """A password the policy refuses; the message says why."""


@lru_cache(maxsize=1)
def _common_passwords() -> frozenset[str]:
    # zxcvbn ships the 30,000 commonest passwords from breach corpora.
    return frozenset(FREQUENCY_LISTS["passwords"])


def check_password_policy(password: str, *, email: str) -> None:
    """Refuse short, overlong, common or email-derived passwords."""
    if len(password) < MIN_LENGTH:
        raise WeakPassword(f"must be at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        raise WeakPassword(f"must be at most {MAX_LENGTH} characters")
    folded = password.lower()
    if folded in _common_passwords() or folded.rstrip("0123456789!") in _common_passwords():
        raise WeakPassword("is one of the most common passwords")
    local_part = email.lower().split("@", 1)[0]
    if len(local_part) >= 5 and local_part in folded:
        raise WeakPassword("must not contain the email address")
    if len(set(password)) < 4:
        raise WeakPassword("uses too few different characters")


# At most cores - 1 hashes at once: the event loop (and PostgreSQL) keep a core
# instead of six argon2 threads fighting over two.
_HASHING = ThreadPoolExecutor(max_workers=max(1, (os.cpu_count() or 2) - 1), thread_name_prefix="argon2")


async def hash_password(password: str) -> str:
    return await asyncio.get_running_loop().run_in_executor(_HASHING, HASHER.hash, password)


_DUMMY_HASH = HASHER.hash("an unknown user's password is compared against this")


async def verify_password(password_hash: str | None, password: str) -> bool:
    """True when `password` matches; an unknown user (None) costs the same time and fails."""

    def verify() -> bool:
        try:
            return HASHER.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
        except (VerificationError, InvalidHashError):
            return False

    return await asyncio.get_running_loop().run_in_executor(_HASHING, verify)
