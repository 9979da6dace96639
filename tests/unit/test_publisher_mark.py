"""The mark that carries a broker-vouched publisher across our own copies of a message."""

from __future__ import annotations

from tollgate_shared.bus.publisher_mark import MARK_HEADER, PUBLISHER_HEADER, PublisherMarks, publisher_of

KEY = b"k" * 32
BODY = b'{"type": "finance.offline_payment.decided"}'


def test_a_mark_names_its_publisher_for_that_message_and_body_only() -> None:
    marks = PublisherMarks(KEY)
    headers = marks.mark("m-1", "finance", BODY)
    assert marks.verified_publisher("m-1", headers, BODY) == "finance"
    assert marks.verified_publisher("m-2", headers, BODY) is None  # moved to another message
    assert marks.verified_publisher("m-1", headers, BODY + b" ") is None  # another body
    assert marks.verified_publisher("m-1", {**headers, PUBLISHER_HEADER: "billing"}, BODY) is None
    assert marks.verified_publisher("m-1", {PUBLISHER_HEADER: "finance"}, BODY) is None  # no mark
    assert marks.verified_publisher("", headers, BODY) is None


def test_a_mark_made_with_another_key_does_not_verify() -> None:
    forged = PublisherMarks(b"guessed").mark("m-1", "finance", BODY)
    assert PublisherMarks(KEY).verified_publisher("m-1", forged, BODY) is None


def test_the_brokers_user_id_wins_over_any_mark() -> None:
    marks = PublisherMarks(KEY)
    headers = marks.mark("m-1", "finance", BODY)
    assert publisher_of("mallory", "m-1", headers, BODY, marks) == "mallory"
    assert publisher_of(None, "m-1", headers, BODY, marks) == "finance"
    assert publisher_of(None, "m-1", headers, BODY, None) is None  # no key: marks are not trusted
    assert publisher_of(None, "m-1", {MARK_HEADER: "0" * 64, PUBLISHER_HEADER: "finance"}, BODY, marks) is None
