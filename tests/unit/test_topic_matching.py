"""AMQP topic matching, which the in-process bus must share with RabbitMQ."""

from __future__ import annotations

import pytest

from tollgate_shared.bus.base import topic_matches


@pytest.mark.parametrize(
    ("pattern", "routing_key"),
    [
        ("auth.account.created", "auth.account.created"),
        ("#", "auth.account.created"),
        ("#", "created"),
        ("auth.#", "auth"),
        ("auth.#", "auth.login"),
        ("auth.#", "auth.a.b"),
        ("auth.*", "auth.login"),
        ("*.created", "account.created"),
        ("*.*.created", "auth.account.created"),
        ("#.created", "created"),
        ("#.created", "auth.account.created"),
        ("auth.#.failed", "auth.failed"),
        ("auth.#.failed", "auth.login.failed"),
        ("auth.#.failed", "auth.a.b.failed"),
        ("*.#", "auth"),
        ("#.#", "a.b.c"),
        ("auth.*.changed", "auth.ip_rules.changed"),
    ],
)
def test_topic_pattern_matches(pattern: str, routing_key: str) -> None:
    assert topic_matches(pattern, routing_key)


@pytest.mark.parametrize(
    ("pattern", "routing_key"),
    [
        ("auth.account.created", "auth.account.deleted"),
        ("auth.account.created", "auth.account"),
        ("auth.account", "auth.account.created"),
        ("*.created", "a.b.created"),
        ("*.created", "created"),
        ("auth.*", "auth"),
        ("auth.*", "auth.a.b"),
        ("auth.#", "billing.auth"),
        ("auth.#", "authx.login"),
        ("#.created", "auth.account.created.late"),
        ("auth.#.failed", "auth.login.failedx"),
        ("Auth.#", "auth.login"),
        ("*", "a.b"),
    ],
)
def test_topic_pattern_does_not_match(pattern: str, routing_key: str) -> None:
    assert not topic_matches(pattern, routing_key)


def test_words_are_whole_words_not_prefixes() -> None:
    assert not topic_matches("billing.order", "billing.orders")
    assert not topic_matches("billing.order.*", "billing.orderx.paid")
