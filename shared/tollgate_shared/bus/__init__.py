"""The bus: one interface, two adapters (RabbitMQ and in-process)."""

from tollgate_shared.bus.base import (
    Bus,
    Delivery,
    DependencyUnavailable,
    Handler,
    OutgoingMessage,
    PoisonMessage,
    PublishFailed,
    Subscription,
)

__all__ = [
    "Bus",
    "Delivery",
    "DependencyUnavailable",
    "Handler",
    "OutgoingMessage",
    "PoisonMessage",
    "PublishFailed",
    "Subscription",
]
