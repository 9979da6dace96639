"""Auth's refusals, with the stable codes its answers carry (the shared handler renders them)."""

from __future__ import annotations

from tollgate_shared import ip_refusal
from tollgate_shared.errors import Conflict, DomainError


class Refusal(DomainError):
    """A refusal whose record stands: what the request wrote before it (a counted failure,
    an audit entry, a revoked session) is committed, not rolled back with the answer."""

    keeps_changes = True


class InvalidCredentials(Refusal):
    status, code, title = 401, "invalid_credentials", "Wrong email or password"


class IpNotAllowed(Refusal):
    status, code, title = 403, ip_refusal.CODE, ip_refusal.TITLE

    def __init__(self, ip: str) -> None:
        super().__init__(ip_refusal.detail(ip), ip=ip)  # the members of ip_refusal.fields


class TooManyAttempts(Refusal):
    status, code, title = 429, "too_many_attempts", "Too many attempts"

    def __init__(self, wait: int) -> None:
        super().__init__(f"Try again in {wait} second{'' if wait == 1 else 's'}.", headers={"Retry-After": str(wait)})


class InvalidChallenge(Refusal):
    status, code, title = 401, "invalid_challenge", "The challenge is invalid, expired or used up"

    def __init__(self) -> None:
        super().__init__("Log in again.")


class InvalidCode(Refusal):
    status, code, title = 401, "invalid_code", "Wrong, expired or already used code"

    def __init__(self, attempts_left: int) -> None:
        super().__init__(attempts_left=attempts_left, challenge_alive=attempts_left > 0)


class TotpAlreadyEnrolled(Refusal):
    status, code, title = 409, "totp_already_enrolled", "TOTP is already enrolled"


class SetupNotStarted(Refusal):
    status, code, title = 409, "setup_not_started", "Call /api/auth/totp/setup with this challenge first"


class NoRefreshToken(Refusal):
    status, code, title = 401, "unauthenticated", "Authentication required"

    def __init__(self) -> None:
        super().__init__("No refresh token.")


class InvalidRefreshToken(Refusal):
    status, code, title = 401, "invalid_refresh_token", "Invalid refresh token"


class SessionEnded(Refusal):
    status, code, title = 401, "session_ended", "The session has ended"


class TotpRequired(Refusal):
    status, code, title = 401, "totp_required", "Log in again with your authenticator code"


class AdminRequired(DomainError):
    status, code, title = 403, "admin_required", "Only administrators may do this"


class AccountRequired(DomainError):
    status, code, title = 403, "account_required", "Only users of an account may do this"


class EmailTaken(Conflict):
    code, title = "email_taken", "This email already has an account"


class NotOnYourself(DomainError):
    status, code, title = 409, "not_on_yourself", "Administrators cannot do this to themselves"


class SelfLockout(DomainError):
    status, code, title = 409, "self_lockout", "This change would lock you out"


class MissingFields(DomainError):
    """Fields a request needs for what it asks (422, like schema errors), all named at once."""

    status, code, title = 422, "validation_error", "Invalid request"

    def __init__(self, fields: list[str]) -> None:
        errors = [{"field": name, "message": "is required for this action"} for name in fields]
        super().__init__("One or more fields are invalid.", errors=errors)
