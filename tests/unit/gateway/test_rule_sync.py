"""The gateway's rule sync: large rule events built off the event loop, newest revision wins, poison stays poison."""

from __future__ import annotations

import asyncio
import json
import threading
import uuid
from typing import Any

import pytest

from gateway import rule_sync
from gateway.client_address import parse_address
from gateway.ip_index import AccountRules, IpRuleIndex
from gateway.rule_sync import INLINE_EVENT_BYTES, RuleSync
from tollgate_shared.bus import Delivery, PoisonMessage
from tollgate_shared.events import new_event
from tollgate_shared.events.models import AccountCreated, IpRule, IpRulesChanged, SessionRevoked
from tollgate_shared.revocations import RevokedSessions

ACCOUNT = str(uuid.uuid4())


async def no_fetch(path: str) -> dict[str, Any]:
    raise ConnectionError(path)


def a_rule(n: int, *, start: str | None = None, user_id: str | None = None) -> IpRule:
    first = start or f"10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}"
    return IpRule(id=str(n), user_id=user_id, start_ip=first, end_ip=first, description="", enabled=True)


def rules_event(revision: int, rules: list[IpRule], account_id: str = ACCOUNT) -> Delivery:
    data = IpRulesChanged(account_id=account_id, rules=rules, revision=revision)
    envelope = new_event(data, source="auth", account_id=account_id)
    return Delivery(message_id=envelope.id, routing_key=envelope.type, body=envelope.to_json(), headers={})


def allowed(index: IpRuleIndex, ip: str) -> bool:
    return index.allows(ACCOUNT, "someone", parse_address(ip))


def large_rule_list() -> list[IpRule]:
    rules = [a_rule(n) for n in range(1, 2_000)]
    assert len(rules_event(1, rules).body) > INLINE_EVENT_BYTES
    return rules


async def test_a_small_event_replaces_the_accounts_rules() -> None:
    sync = RuleSync(IpRuleIndex(), RevokedSessions(60), no_fetch)
    await sync.on_event(rules_event(1, [a_rule(1)]))
    assert allowed(sync.index, "10.0.0.1") and not allowed(sync.index, "10.0.0.2")


async def test_a_large_event_is_parsed_and_built_off_the_event_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    built_in: list[int] = []
    real = AccountRules.from_models

    def spy(rules: Any, revision: int) -> AccountRules:
        built_in.append(threading.get_ident())
        return real(rules, revision)

    monkeypatch.setattr(rule_sync.AccountRules, "from_models", spy)
    sync = RuleSync(IpRuleIndex(), RevokedSessions(60), no_fetch)
    await sync.on_event(rules_event(1, large_rule_list()))
    assert built_in and built_in[0] != threading.get_ident()
    assert allowed(sync.index, "10.0.7.207") and not allowed(sync.index, "10.0.7.208")


async def test_the_newest_revision_wins_whichever_build_finishes_last() -> None:
    sync = RuleSync(IpRuleIndex(), RevokedSessions(60), no_fetch)
    older = rules_event(3, large_rule_list())  # built in a thread: finishes after the newer one
    newer = rules_event(4, [a_rule(0, start="192.0.2.1")])
    await asyncio.gather(sync.on_event(older), sync.on_event(newer))
    assert sync.index.revision(ACCOUNT) == 4
    assert allowed(sync.index, "192.0.2.1") and not allowed(sync.index, "10.0.0.1")
    await sync.on_event(rules_event(2, []))  # a late, older event changes nothing
    assert sync.index.revision(ACCOUNT) == 4 and not allowed(sync.index, "10.0.0.1")


async def test_a_revoked_session_is_remembered() -> None:
    sync = RuleSync(IpRuleIndex(), RevokedSessions(60), no_fetch)
    data = SessionRevoked(session_id="s-1", user_id="u-1", reason="logout")
    envelope = new_event(data, source="auth")
    await sync.on_event(Delivery(envelope.id, envelope.type, envelope.to_json(), {}))
    assert sync.revoked.is_revoked("s-1")


def tampered(delivery: Delivery, change: Any) -> Delivery:
    body = json.loads(delivery.body)
    change(body)
    return Delivery(delivery.message_id, delivery.routing_key, json.dumps(body).encode(), {})


@pytest.mark.parametrize("size", ["small", "large"])
@pytest.mark.parametrize(
    "damage",
    [
        lambda body: body["data"]["rules"][0].pop("start_ip"),
        lambda body: body["data"]["rules"][-1].update(end_ip="not an address"),
        lambda body: body["data"]["rules"][0].update(start_ip="10.0.0.1", end_ip="2001:db8::1"),
        lambda body: body["data"].pop("revision"),
        lambda body: body["data"].update(rules="all of them"),
        lambda body: body.update(type="auth.session.revoked"),  # no longer its routing key
        lambda body: body.pop("occurred_at"),
    ],
)
async def test_an_event_that_is_not_the_contract_is_poison(size: str, damage: Any) -> None:
    sync = RuleSync(IpRuleIndex(), RevokedSessions(60), no_fetch)
    rules = large_rule_list() if size == "large" else [a_rule(1), a_rule(2)]
    with pytest.raises(PoisonMessage):
        await sync.on_event(tampered(rules_event(1, rules), damage))
    assert sync.index.revision(ACCOUNT) == 0


async def test_other_known_events_are_ignored_and_unknown_ones_are_poison() -> None:
    sync = RuleSync(IpRuleIndex(), RevokedSessions(60), no_fetch)
    created = AccountCreated(account_id=ACCOUNT, account_name="n", admin_user_id="u")
    envelope = new_event(created, source="auth")
    await sync.on_event(Delivery(envelope.id, "", envelope.to_json(), {}))
    unknown = tampered(Delivery(envelope.id, "", envelope.to_json(), {}), lambda body: body.update(type="auth.nope"))
    with pytest.raises(PoisonMessage):
        await sync.on_event(unknown)
