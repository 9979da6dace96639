"""The RabbitMQ adapter (aio-pika).

Publishing (`publishing.py`): one confirm channel, `mandatory` with
`on_return_raises`, persistent messages. Consuming (`consuming.py`): durable
quorum queues with a delivery limit and a dead-letter queue; a failed message is
republished to the next delay tier and acked, and after the last tier rejected
into its dead-letter queue. A message whose handler found its database away
(`DependencyUnavailable`) is given back uncounted and the queues depending on it
stop being consumed until it answers (`outages.py`). Channels and queues are kept
as attributes so the robust connection restores consumers after a reconnect. At
shutdown `stop_consuming` cancels every consumer and waits for the messages in
hand to be settled. The exchanges and queues are declared by `declaring.py`;
messages are read and copied by `messages.py`.
"""

from tollgate_shared.bus.rabbitmq.consuming import GIVEN_BACK_HEADER, MAX_GIVE_BACKS, RabbitMQBus
from tollgate_shared.bus.rabbitmq.declaring import declare_exchanges
from tollgate_shared.bus.rabbitmq.messages import copy_message, to_delivery

__all__ = ["GIVEN_BACK_HEADER", "MAX_GIVE_BACKS", "RabbitMQBus", "copy_message", "declare_exchanges", "to_delivery"]
