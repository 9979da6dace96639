"""Who published a message, kept across the copies our own consumers make of it.

A trusted queue (finance decisions) accepts a message only when RabbitMQ vouches
for its publisher: the AMQP `user_id` property, which the broker refuses unless
it equals the publishing connection's login. A message that fails is sent on
again as a copy (to a delay queue, or back from the dead-letter queue by `tollgate
dlq replay`), and that copy is published by *our* login, which cannot carry the
original `user_id`. So the copy carries a mark instead: the original publisher
and an HMAC-SHA256 under `TOLLGATE_INTERNAL_KEY` over the message id, that
publisher and the body. Only a holder of the key (our services and operators)
can make one; a mark on another body or message id, or naming another
publisher, does not verify. The AMQP property always wins over a mark.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

PUBLISHER_HEADER = "x-tollgate-publisher"
MARK_HEADER = "x-tollgate-publisher-mark"
_LABEL = b"tollgate bus publisher mark v1\n"


class PublisherMarks:
    def __init__(self, key: bytes) -> None:
        if not key:
            raise ValueError("a publisher mark needs a key")
        self._key = key

    def _digest(self, message_id: str, publisher: str, body: bytes) -> str:
        text = _LABEL + f"{message_id}\n{publisher}\n".encode() + hashlib.sha256(body).digest()
        return hmac.new(self._key, text, hashlib.sha256).hexdigest()

    def mark(self, message_id: str, publisher: str, body: bytes) -> dict[str, str]:
        """The headers that carry `publisher` on a copy of the message."""
        return {PUBLISHER_HEADER: publisher, MARK_HEADER: self._digest(message_id, publisher, body)}

    def verified_publisher(self, message_id: str, headers: Mapping[str, object], body: bytes) -> str | None:
        """The publisher a valid mark names, or None (no mark, or one that does not verify)."""
        publisher, mark = headers.get(PUBLISHER_HEADER), headers.get(MARK_HEADER)
        if not isinstance(publisher, str) or not isinstance(mark, str) or not message_id:
            return None
        if not hmac.compare_digest(mark, self._digest(message_id, publisher, body)):
            return None
        return publisher


def publisher_of(
    user_id: str | None, message_id: str, headers: Mapping[str, object], body: bytes, marks: PublisherMarks | None
) -> str | None:
    """The broker-vouched publisher, else the one a valid mark names, else None."""
    if user_id:
        return user_id
    if marks is None:
        return None
    return marks.verified_publisher(message_id, headers, body)
