"""Tollgate's common library: what every service shares and nothing more."""
