"""What the audit log records: every security-relevant change and login outcome."""

from __future__ import annotations

from enum import StrEnum


class AuditAction(StrEnum):
    ACCOUNT_CREATED = "account.created"
    STAFF_CREATED = "staff.created"
    USER_ADDED = "user.added"
    USER_DEACTIVATED = "user.deactivated"
    LOGIN_SUCCEEDED = "login.succeeded"
    LOGIN_FAILED = "login.failed"
    LOGOUT = "logout"
    REFRESH_TOKEN_REUSED = "session.refresh_token_reused"  # noqa: S105 (an action, not a secret)
    TOTP_ENROLLED = "totp.enrolled"
    TOTP_RESET = "totp.reset"
    TOTP_ENFORCED = "security.totp_enforced"
    TOTP_RELAXED = "security.totp_relaxed"
    TOTP_GRACE_CHANGED = "security.totp_grace_changed"
    IP_RULE_CREATED = "ip_rule.created"
    IP_RULE_CHANGED = "ip_rule.changed"
    IP_RULE_DELETED = "ip_rule.deleted"


def policy_change(enforce_totp: bool, *, was_enforced: bool) -> AuditAction:
    """What an administrator's change of the 2FA policy is called in the log."""
    if enforce_totp == was_enforced:
        return AuditAction.TOTP_GRACE_CHANGED
    return AuditAction.TOTP_ENFORCED if enforce_totp else AuditAction.TOTP_RELAXED
