"""Logins per second of the auth service, with and without TOTP, and the argon2 cost behind them.

Run from the repository root: `uv run python -m bench.auth.run` (see SECTION.md).
"""
