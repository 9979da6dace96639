"""What an administrator may do to the users of their account."""

from __future__ import annotations

from auth.domain.errors import NotOnYourself


def refuse_acting_on_self(admin_id: str, target_id: str, *, advice: str) -> None:
    """Administrators cannot deactivate themselves or reset their own 2FA: another must."""
    if admin_id == target_id:
        raise NotOnYourself(advice)
