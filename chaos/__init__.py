"""The chaos run (`make chaos`, `python -m chaos`): Tollgate under a mixed client load while faults are
injected one after another, then checked for money lost or doubled, documents missing or doubled, events
stuck, and errors a client saw outside a fault. See `docs/reliability.md`."""
