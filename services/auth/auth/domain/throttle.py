"""Growing delays after failed logins, per user and per client address."""

from __future__ import annotations

MAX_DELAY_SECONDS = 15 * 60


def delay_after(failures: int, *, threshold: int) -> int:
    """Seconds to refuse further attempts after `failures` consecutive failures.

    Free attempts up to `threshold`; then 1, 2, 4, … seconds, at most 15 minutes.
    """
    if failures < threshold:
        return 0
    return int(min(2 ** (failures - threshold), MAX_DELAY_SECONDS))
