"""The one credential of a request, as the edge reads it, and what a service gets instead.

A request carries exactly one credential: one `Authorization: Bearer` header or
one `tg_access` cookie (the same token in both counts as one). Anything else
with several candidates is refused, so the token the edge checks can never
differ from one a service might read. The services never see either: the
gateway strips them and forwards the principal it verified (`tollgate_shared.edge`).
"""

from __future__ import annotations

from dataclasses import dataclass

from tollgate_shared import callers

ACCESS_COOKIE = callers.ACCESS_COOKIE.encode()
AUTHORIZATION = b"authorization"
COOKIE = b"cookie"


@dataclass(frozen=True)
class Credential:
    token: str
    # A browser's cookie: unsafe methods must then prove the page sent them (CSRF).
    from_cookie: bool


class CredentialRefused(Exception):
    def __init__(self, status: int, code: str, detail: str) -> None:
        super().__init__(detail)
        self.status, self.code, self.detail = status, code, detail


def ambiguous() -> CredentialRefused:
    # A new exception each time: one raised again and again would keep every raise's frames.
    return CredentialRefused(
        400,
        "ambiguous_credentials",
        "Send exactly one credential: one Authorization: Bearer header or one tg_access cookie.",
    )


def cookie_pairs(value: bytes) -> list[tuple[bytes, bytes]]:
    """`name=value` pairs of one Cookie header, names and values trimmed (as lenient servers read them)."""
    pairs = []
    for part in value.split(b";"):
        name, _, cookie = part.partition(b"=")
        if name.strip() or cookie.strip():
            pairs.append((name.strip(), cookie.strip()))
    return pairs


def credential_of(headers: list[tuple[bytes, bytes]]) -> Credential | None:
    """The request's one credential; None when it has none; `CredentialRefused` when unclear."""
    authorizations = [value for name, value in headers if name == AUTHORIZATION]
    cookies = [
        cookie
        for name, value in headers
        if name == COOKIE
        for cookie_name, cookie in cookie_pairs(value)
        if cookie_name == ACCESS_COOKIE
    ]
    if len(authorizations) > 1 or len(cookies) > 1:
        raise ambiguous()
    bearer: str | None = None
    if authorizations:
        scheme, _, token = authorizations[0].strip().partition(b" ")
        if scheme.lower() != b"bearer":
            raise CredentialRefused(
                401, "unsupported_credentials", "Only an Authorization: Bearer access token is accepted."
            )
        bearer = token.strip().decode("latin-1")
        if not bearer:
            raise CredentialRefused(401, "invalid_token", "The access token is not valid.")
    cookie = cookies[0].decode("latin-1") if cookies else None
    if bearer is not None:
        if cookie and cookie != bearer:
            raise ambiguous()
        return Credential(bearer, from_cookie=False)
    if cookie:
        return Credential(cookie, from_cookie=True)
    return None


def without_credentials(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """`headers` minus the client's `Authorization` and `tg_access`: a service learns who
    is calling only from the edge header (other cookies, such as auth's refresh cookie, stay)."""
    kept = []
    for name, value in headers:
        if name == AUTHORIZATION:
            continue
        if name == COOKIE:
            pairs = [pair for pair in cookie_pairs(value) if pair[0] != ACCESS_COOKIE]
            if not pairs:
                continue
            value = b"; ".join(name_ + b"=" + cookie for name_, cookie in pairs)
        kept.append((name, value))
    return kept
