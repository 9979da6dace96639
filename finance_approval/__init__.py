"""The reference finance approval service: decides offline payments from the outside.

It stands for another team's program. It knows Tollgate only through the
documented contract (docs/asyncapi.yaml and the queue `finance.offline-payments`):
it imports aio-pika and the standard library, never Tollgate's own packages.
"""
