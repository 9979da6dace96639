"""What a check found, and what its failure means."""

from __future__ import annotations

from dataclasses import dataclass

LOSS, DOUBLING, STUCK, ERRORS = "loss", "doubling", "stuck", "errors"


@dataclass(frozen=True)
class Check:
    label: str  # a word or two for the verdict line
    name: str
    passed: bool
    detail: str
    kind: str  # what a failure means: LOSS, DOUBLING, STUCK or ERRORS
