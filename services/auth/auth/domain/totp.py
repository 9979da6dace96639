"""TOTP per RFC 6238 as authenticator apps expect, with replay protection.

160-bit base32 seed, HMAC-SHA1, 6 digits, 30-second steps, one step of drift
either way. pyotp's `verify` would accept the same code again; here a code is
matched to its time step and refused at or before the last accepted step.
"""

from __future__ import annotations

import hmac

import pyotp

STEP_SECONDS = 30
DIGITS = 6
DRIFT_STEPS = 1


def new_secret() -> str:
    """A 160-bit seed, base32 (32 characters)."""
    return pyotp.random_base32(length=32)


def otpauth_uri(secret: str, *, email: str, issuer: str) -> str:
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS).provisioning_uri(name=email, issuer_name=issuer)


def time_step(now: float) -> int:
    return int(now // STEP_SECONDS)


def matching_step(secret: str, code: str, *, now: float, last_step: int | None) -> int | None:
    """The time step `code` belongs to, if valid now and newer than `last_step`; else None."""
    code = code.strip().replace(" ", "")
    if len(code) != DIGITS or not code.isdigit():
        return None
    generator = pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS)
    current = time_step(now)
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if last_step is not None and step <= last_step:
            continue  # replay: this step (or an earlier one) was already used
        if hmac.compare_digest(generator.generate_otp(step), code):
            return step
    return None
