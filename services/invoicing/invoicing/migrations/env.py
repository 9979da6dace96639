"""Alembic environment of the invoicing service."""

from invoicing.adapters.tables import metadata
from tollgate_shared.migrations import run_env

run_env(metadata)
