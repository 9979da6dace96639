"""Operator commands of auth: `tollgate staff create`, `tollgate auth rotate-keys`."""

from __future__ import annotations

import asyncio
import getpass
import os
from datetime import timedelta

from auth.settings import AuthSettings

# auth's adapters, use cases and error types are imported once the settings are read: a
# mistake in them is told without the second of imports the work itself needs.


def _password() -> str:
    password = os.environ.get("TOLLGATE_STAFF_PASSWORD")
    if password:
        return password
    first = getpass.getpass("Password for the new staff user: ")
    if first != getpass.getpass("Again: "):
        raise SystemExit("the passwords differ")
    return first


async def _create_staff(settings: AuthSettings, email: str, role: str, password: str) -> str:
    from sqlalchemy.ext.asyncio import async_sessionmaker

    from auth.adapters.tables import messaging
    from auth.domain.roles import StaffRole
    from auth.use_cases.add_user import add_staff
    from tollgate_shared.db import create_engine
    from tollgate_shared.outbox import OUTBOX_INFO_KEY

    engine = create_engine(settings.effective_database_url)
    factory = async_sessionmaker(engine, expire_on_commit=False, info={OUTBOX_INFO_KEY: messaging})
    try:
        async with factory() as db, db.begin():
            staff = await add_staff(db, email=email, password=password, role=StaffRole(role))
        return str(staff.id)
    finally:
        await engine.dispose()


def create_staff(email: str, role: str) -> int:
    """Create a platform staff user; they must enrol TOTP at their first login."""
    settings = AuthSettings()  # before the password is asked for
    from tollgate_shared.errors import DomainError

    try:
        user_id = asyncio.run(_create_staff(settings, email, role, _password()))
    except DomainError as exc:
        print(f"refused: {exc.detail or exc.title} {exc.extensions.get('errors', '')}")
        return 1
    print(f"created {role} staff user {email} ({user_id}); TOTP enrolment is required at the first login")
    return 0


async def _rotate(settings: AuthSettings, remove_after: timedelta) -> str:
    from sqlalchemy.ext.asyncio import async_sessionmaker

    from auth.adapters.context import build_context
    from tollgate_shared.db import create_engine

    engine = create_engine(settings.effective_database_url)
    try:
        keys = build_context(settings).keys
        return str(
            await keys.rotate(async_sessionmaker(engine, expire_on_commit=False), remove_retired_before=remove_after)
        )
    finally:
        await engine.dispose()


def rotate_keys() -> int:
    """Sign with a new key; the old one keeps verifying until tokens it signed have expired."""
    settings = AuthSettings()
    kid = asyncio.run(_rotate(settings, timedelta(minutes=settings.access_token_minutes * 2)))
    print(
        f"new signing key {kid}; running auth replicas pick it up when they see a token signed with it, or on restart"
    )
    return 0
