"""Who a user is: an account's administrator or user, or platform staff."""

from __future__ import annotations

from enum import StrEnum

from tollgate_shared.events.vocabulary import AccountRole as AccountRole


class StaffRole(StrEnum):
    """Platform staff, who belong to no account (`tollgate staff create`)."""

    FINANCE = "finance"


Role = AccountRole | StaffRole
ROLES: tuple[Role, ...] = (*AccountRole, *StaffRole)


def role_named(name: str) -> Role:
    """The role stored as `name` (the database's check constraint admits only these)."""
    return AccountRole(name) if name in {role.value for role in AccountRole} else StaffRole(name)
