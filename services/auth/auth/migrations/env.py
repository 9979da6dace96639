"""Alembic environment of the auth service."""

from auth.adapters.tables import metadata
from tollgate_shared.migrations import run_env

run_env(metadata)
