"""Growing delays after consecutive failures: wrong passwords, wrong TOTP codes."""

from __future__ import annotations

from dataclasses import dataclass

MAX_DELAY_SECONDS = 15 * 60


@dataclass(frozen=True)
class Schedule:
    """Free attempts up to a threshold, then `first_delay` seconds, doubling, at most 15 minutes."""

    first_delay: int

    def delay_after(self, failures: int, *, threshold: int) -> int:
        """Seconds to refuse further attempts after `failures` consecutive failures."""
        if failures < threshold:
            return 0
        return int(min(self.first_delay * 2 ** (failures - threshold), MAX_DELAY_SECONDS))


# Passwords: 1 s, 2 s, 4 s … so a person who mistyped a few times barely waits.
PASSWORDS = Schedule(first_delay=1)
# TOTP codes: 30 s, 60 s … one guess per time step at best; a code is 6 digits, not a password.
CODES = Schedule(first_delay=30)
