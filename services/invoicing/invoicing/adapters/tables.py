"""Invoicing's tables (the outbox and inbox so far; documents come with the invoicing issue)."""

from tollgate_shared.db import new_metadata
from tollgate_shared.messaging_tables import add_messaging_tables

metadata = new_metadata()
messaging = add_messaging_tables(metadata)
