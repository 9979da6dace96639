"""Outbox → RabbitMQ → inbox: events per second and commit-to-commit latency."""
