"""Alembic environment of the billing service."""

from billing.adapters.tables import metadata
from tollgate_shared.migrations import run_env

run_env(metadata)
