"""Start TOTP enrolment: the seed, its otpauth URI and the QR code to scan."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from auth.adapters.account_store import find_account
from auth.adapters.challenge_store import open_challenge, remember_pending_secret
from auth.adapters.context import AuthContext
from auth.adapters.qr import qr_svg
from auth.domain import totp
from auth.domain.challenges import ChallengePurpose
from auth.domain.errors import InvalidChallenge, TotpAlreadyEnrolled
from auth.domain.records import Challenge, User
from auth.use_cases.find_live_challenge import find_live_challenge


@dataclass(frozen=True)
class TotpSetup:
    challenge: str
    secret: str
    otpauth_uri: str
    qr_svg: str
    email: str
    account_name: str | None  # whose account the authenticator is for (None for staff)


async def set_up_totp(
    db: AsyncSession, context: AuthContext, *, challenge: str | None, volunteer: User | None
) -> TotpSetup:
    """With a `totp_setup` challenge from login; or, without one, for `volunteer`, a logged-in
    user enrolling of their own accord (the answer carries the challenge to verify with)."""
    if challenge is None:
        assert volunteer is not None, "without a challenge, the caller enrols"
        challenge = await _open_for_volunteer(db, volunteer)
    found, owner = await find_live_challenge(db, challenge)
    if found.purpose != ChallengePurpose.TOTP_SETUP:
        raise InvalidChallenge()
    secret = await _pending_secret(db, context, found)
    uri = totp.otpauth_uri(secret, email=owner.email, issuer=context.settings.totp_issuer)
    account = None if owner.account_id is None else await find_account(db, owner.account_id)
    return TotpSetup(
        challenge=challenge,
        secret=secret,
        otpauth_uri=uri,
        qr_svg=qr_svg(uri),
        email=owner.email,
        account_name=None if account is None else account.name,
    )


async def _open_for_volunteer(db: AsyncSession, volunteer: User) -> str:
    if volunteer.totp_enrolled:
        raise TotpAlreadyEnrolled()
    return await open_challenge(db, owner=volunteer, purpose=ChallengePurpose.TOTP_SETUP, now=datetime.now(UTC))


async def _pending_secret(db: AsyncSession, context: AuthContext, challenge: Challenge) -> str:
    """The seed being enrolled: asking again shows the same code to scan."""
    sealed_for = challenge.token_hash.encode()
    if challenge.pending_secret is not None:
        return context.box.open(challenge.pending_secret, context=sealed_for).decode()
    secret = totp.new_secret()
    await remember_pending_secret(db, challenge, context.box.seal(secret.encode(), context=sealed_for))
    return secret
