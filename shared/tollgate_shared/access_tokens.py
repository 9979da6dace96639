"""Access tokens: short-lived JWTs auth signs (EdDSA) and every service verifies.

Auth publishes its public keys at `/api/auth/jwks.json`; a verifier needs only
those keys, never a call to auth per request.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import jwt

ISSUER = "tollgate"
AUDIENCE = "tollgate"
ALGORITHM = "EdDSA"
STAFF_ROLES = frozenset({"finance"})


class InvalidToken(Exception):
    """Not a valid access token: unsigned, expired, wrong audience, unknown key…"""


class UnknownKey(InvalidToken):
    """Signed with a key id the verifier does not know (yet): refresh the keys and retry."""

    def __init__(self, kid: str) -> None:
        super().__init__(f"unknown key {kid!r}")
        self.kid = kid


@dataclass(frozen=True)
class Principal:
    """Who is calling, as the access token says."""

    user_id: str
    account_id: str | None
    roles: tuple[str, ...]
    session_id: str
    amr: tuple[str, ...]

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles

    @property
    def is_staff(self) -> bool:
        return bool(STAFF_ROLES.intersection(self.roles))

    @property
    def used_totp(self) -> bool:
        return "otp" in self.amr


def verify_access_token(token: str, public_keys: Mapping[str, Any]) -> tuple[Principal, float]:
    """Verify `token` against `public_keys` (kid → key): its principal and its `exp` (epoch seconds)."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise InvalidToken("malformed") from exc
    if header.get("alg") != ALGORITHM:  # refuses "none" and any algorithm confusion
        raise InvalidToken("wrong algorithm")
    kid = str(header.get("kid", ""))
    key = public_keys.get(kid)
    if key is None:
        raise UnknownKey(kid)
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=[ALGORITHM],
            audience=AUDIENCE,
            issuer=ISSUER,
            options={"require": ["exp", "iat", "sub", "sid", "iss", "aud"]},
        )
    except jwt.PyJWTError as exc:
        raise InvalidToken(str(exc)) from exc
    return principal_from_claims(claims), float(claims["exp"])


def principal_from_claims(claims: Mapping[str, Any]) -> Principal:
    """The principal an access token's claims name (verified by the caller)."""
    return Principal(
        user_id=str(claims["sub"]),
        account_id=claims.get("acc"),
        roles=tuple(claims.get("roles", ())),
        session_id=str(claims["sid"]),
        amr=tuple(claims.get("amr", ())),
    )
