"""Request and answer bodies of auth's public API."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, EmailStr, Field, ValidationInfo, field_validator

from auth.domain.ip_rules import parse_ip, range_problem
from auth.domain.lockout_preview import PreviewAction
from auth.domain.login import NextStep
from auth.domain.passwords import check_password_policy
from auth.domain.records import User
from auth.domain.roles import AccountRole
from auth.domain.totp_grace import MAX_GRACE_DAYS, TotpPolicy, TotpState, enrolment_due_by, totp_state
from auth.use_cases.issue_session import IssuedSession
from tollgate_shared.fields import OnlyFalse, RequestBody, Timestamp


class Strict(RequestBody):
    """A request body of auth's (strict: no unknown field, no value guessed from another JSON type)."""


# The domain's rules run again in the use cases; here they make one 422 name every wrong field at once.
def _policy_checked(password: str, info: ValidationInfo) -> str:
    check_password_policy(password, email=str(info.data.get("email", "")))  # WeakPassword is a ValueError
    return password


def _an_address(text: str, info: ValidationInfo) -> str:
    address = parse_ip(text, field=str(info.field_name))  # InvalidRule is a ValueError
    start = info.data.get("start_ip") if info.field_name == "end_ip" else None
    if start is not None and (problem := range_problem(parse_ip(start, field="start_ip"), address)):
        raise ValueError(problem)
    return text


class AccountCreate(Strict):
    account_name: str = Field(min_length=1, max_length=200)
    email: EmailStr
    password: str = Field(min_length=1, max_length=1024)

    _password = field_validator("password")(_policy_checked)


class AccountRead(BaseModel):
    id: str
    name: str


class UserRead(BaseModel):
    id: str
    email: str
    role: str
    active: bool = True
    totp_enrolled: bool = False
    totp_state: TotpState = TotpState.OPTIONAL
    totp_due_by: Timestamp | None = Field(default=None, description="enrol by then (null: enrolled or not enforced)")
    created_at: Timestamp | None = None


class AccountCreated(BaseModel):
    id: str
    account: AccountRead
    admin: UserRead


class LoginRequest(Strict):
    email: str = Field(min_length=3, max_length=320)
    password: str = Field(min_length=1, max_length=1024)


class TotpSetupRequest(Strict):
    challenge: str | None = Field(default=None, max_length=200)


class TotpSetupAnswer(BaseModel):
    challenge: str
    secret: str
    otpauth_uri: str
    qr_svg: str
    email: str = Field(description="the user enrolling, as the authenticator app will name them")
    account_name: str | None = Field(description="the account they belong to (null for platform staff)")


class TotpVerifyRequest(Strict):
    challenge: str = Field(min_length=1, max_length=200)
    code: str = Field(min_length=1, max_length=32, description="a 6-digit code, or a recovery code")


class RefreshRequest(Strict):
    refresh_token: str | None = Field(default=None, max_length=200)


class ChallengeAnswer(BaseModel):
    status: Literal[NextStep.TOTP_REQUIRED, NextStep.TOTP_SETUP_REQUIRED]
    challenge: str


class SessionAnswer(BaseModel):
    status: Literal[NextStep.SESSION] = NextStep.SESSION
    access_token: str
    token_type: Literal["Bearer"] = "Bearer"  # noqa: S105 (the scheme's name, not a secret)
    expires_in: int
    refresh_token: str
    recovery_codes: list[str] | None = None
    totp_due_by: Timestamp | None = Field(
        default=None, description="inside the grace of enforced 2FA: set up an authenticator by then"
    )


class Me(BaseModel):
    user_id: str
    email: str
    role: str
    account_id: str | None
    account_name: str | None
    totp_enrolled: bool
    totp_due_by: Timestamp | None = Field(description="when 2FA must be set up by; null when nothing is due")
    amr: list[str]


class SecurityPolicy(Strict):
    enforce_totp: bool
    grace_days: int = Field(
        default=0,
        ge=0,
        le=MAX_GRACE_DAYS,
        description="days users without an authenticator may still log in without one (0: set it up at the next login)",
    )


class UserCreate(Strict):
    email: EmailStr
    password: str = Field(min_length=1, max_length=1024)
    # strict=False: matched by value (a JSON string is never an enum instance); nothing but the values passes.
    role: AccountRole = Field(default=AccountRole.USER, strict=False)

    _password = field_validator("password")(_policy_checked)


class UserUpdate(Strict):
    active: OnlyFalse = Field(description="false deactivates the user; deactivation is final")


class IpRuleCreate(Strict):
    user_id: str | None = None
    start_ip: str = Field(min_length=2, max_length=45)
    end_ip: str = Field(min_length=2, max_length=45)
    description: str = Field(default="", max_length=255)
    enabled: bool = True
    confirm_self_lockout: bool = False

    _addresses = field_validator("start_ip", "end_ip")(_an_address)


class IpRuleUpdate(Strict):
    enabled: bool | None = None
    description: str | None = Field(default=None, max_length=255)
    confirm_self_lockout: bool = False


class IpRulePreviewRequest(Strict):
    action: PreviewAction = Field(
        strict=False, description="add, update (the rule changed as given, enabled), disable, delete"
    )
    rule_id: str | None = Field(default=None, max_length=36, description="update, disable, delete: the rule")
    start_ip: str | None = Field(default=None, max_length=45)
    end_ip: str | None = Field(default=None, max_length=45)
    user_id: str | None = Field(default=None, max_length=36, description="the rule's user; null: all users")


class LockedOutRead(BaseModel):
    user_id: str
    email: str
    last_seen_ip: str
    last_seen_at: Timestamp


class IpRulePreview(BaseModel):
    locked_out: list[LockedOutRead]
    you_are_locked_out: bool


class IpRuleRead(BaseModel):
    id: str
    user_id: str | None
    start_ip: str
    end_ip: str
    description: str
    enabled: bool
    created_at: Timestamp
    created_by: str


class IpRuleList(BaseModel):
    items: list[IpRuleRead]
    total: int
    page: int
    page_size: int
    your_ip: str


class AuditEntryRead(BaseModel):
    id: str
    action: str
    actor_id: str | None
    actor_email: str | None
    target_user_id: str | None
    target: str | None
    ip: str | None
    details: dict[str, object] | None
    created_at: Timestamp


def user_read(user: User, policy: TotpPolicy | None = None) -> UserRead:
    """The user as administrators see it; `policy` (the account's) says what their 2FA state is."""
    policy = policy or TotpPolicy(enforce=False)
    enrolled = user.totp_enrolled
    return UserRead(
        id=user.id,
        email=user.email,
        role=user.role,
        active=user.active,
        totp_enrolled=enrolled,
        totp_state=totp_state(policy, enrolled=enrolled, user_created_at=user.created_at, now=datetime.now(UTC)),
        totp_due_by=None if enrolled else enrolment_due_by(policy, user_created_at=user.created_at),
        created_at=user.created_at,
    )


def session_answer(
    issued: IssuedSession, *, recovery_codes: list[str] | None = None, totp_due_by: datetime | None = None
) -> SessionAnswer:
    return SessionAnswer(
        access_token=issued.access_token,
        expires_in=issued.expires_in,
        refresh_token=issued.refresh_token,
        recovery_codes=recovery_codes,
        totp_due_by=totp_due_by,
    )
