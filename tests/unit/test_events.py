"""The event contract of DESIGN §3: envelope, catalogue, and what a consumer treats as poison."""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from pydantic import BaseModel, ValidationError

from tollgate_shared.bus import Delivery, PoisonMessage
from tollgate_shared.events import CATALOGUE, Envelope, event_model, new_event
from tollgate_shared.events.catalogue import UnknownEventType
from tollgate_shared.events.models import AccountCreated, CreditsAdded, UserCreated
from tollgate_shared.inbox import parse_delivery

ACCOUNT_ID = "6f1b9a52-3c1e-4d0b-9a57-0c6f4e9a2b11"
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")

# DESIGN §3's table and §9's revocation broadcast.
DESIGNED_EVENT_TYPES = {
    "auth.account.created",
    "auth.user.created",
    "auth.security_policy.changed",
    "auth.totp.enrolled",
    "auth.login.succeeded",
    "auth.login.failed",
    "auth.ip_rules.changed",
    "auth.session.revoked",
    "billing.payment.succeeded",
    "billing.payment.failed",
    "billing.offline_payment.submitted",
    "finance.offline_payment.decided",
    "billing.offline_payment.approved",
    "billing.offline_payment.rejected",
    "billing.credits.added",
    "billing.balance.low",
    "billing.order.placed",
    "billing.order.paid",
    "invoicing.invoice.issued",
    "invoicing.invoice.paid",
}


def account_created() -> AccountCreated:
    return AccountCreated(account_id=ACCOUNT_ID, account_name="Acme", admin_user_id="u-1")


def credits_added() -> CreditsAdded:
    return CreditsAdded(
        amount=Decimal("1180"), balance="250.5", currency="INR", source="online_payment", reference="pay_1"
    )


def delivery(body: bytes, routing_key: str = "auth.account.created") -> Delivery:
    return Delivery(message_id="m-1", routing_key=routing_key, body=body, headers={})


def test_new_event_builds_the_envelope() -> None:
    before = datetime.now(UTC)

    event = new_event(account_created(), source="auth", account_id=ACCOUNT_ID)

    assert uuid.UUID(event.id).version == 4
    assert event.type == "auth.account.created"
    assert event.version == 1
    assert event.source == "auth"
    assert event.account_id == ACCOUNT_ID
    assert event.occurred_at.tzinfo is not None
    assert before - timedelta(seconds=1) <= event.occurred_at <= datetime.now(UTC) + timedelta(seconds=1)
    assert event.data == {"account_id": ACCOUNT_ID, "account_name": "Acme", "admin_user_id": "u-1"}


def test_new_event_gives_each_event_its_own_id() -> None:
    ids = {new_event(account_created(), source="auth").id for _ in range(20)}

    assert len(ids) == 20


def test_envelope_json_has_the_designed_fields_and_rfc3339_time() -> None:
    event = new_event(account_created(), source="auth", account_id=ACCOUNT_ID)

    document = json.loads(event.to_json())

    assert set(document) == {"id", "type", "version", "occurred_at", "source", "account_id", "data"}
    assert RFC3339.match(document["occurred_at"]), document["occurred_at"]
    assert datetime.fromisoformat(document["occurred_at"]) == event.occurred_at


def test_new_event_dumps_money_as_strings() -> None:
    event = new_event(credits_added(), source="billing", account_id=ACCOUNT_ID)

    assert event.data["amount"] == "1180.00"
    assert event.data["balance"] == "250.50"
    assert json.loads(event.to_json())["data"]["amount"] == "1180.00"


def test_new_event_takes_its_type_from_the_model_of_its_data() -> None:
    assert new_event(credits_added(), source="billing").type == "billing.credits.added"
    assert new_event(UserCreated(user_id="u-1", role="user"), source="auth").type == "auth.user.created"


def test_new_event_refuses_data_that_is_no_events_model() -> None:
    class Coupon(BaseModel):
        code: str

    with pytest.raises(UnknownEventType, match="Coupon"):
        new_event(Coupon(code="FREE"), source="billing")


def test_envelope_round_trips_through_json() -> None:
    event = new_event(credits_added(), source="billing", account_id=ACCOUNT_ID)

    again = Envelope.from_json(event.to_json())

    assert again == event
    assert Envelope.from_json(event.to_json().decode()) == event


def test_parsed_data_validates_against_the_catalogue() -> None:
    event = new_event(credits_added(), source="billing")

    data = event.parsed_data()

    assert isinstance(data, CreditsAdded)
    assert data.amount == Decimal("1180.00")
    assert data == credits_added()


def test_parsed_data_refuses_data_that_breaks_the_contract() -> None:
    event = new_event(credits_added(), source="billing")
    broken = event.model_copy(update={"data": {**event.data, "amount": 1180.0}})

    with pytest.raises(ValidationError):
        broken.parsed_data()


def test_parsed_data_of_an_unknown_type_raises() -> None:
    event = Envelope(id=str(uuid.uuid4()), type="nobody.knows.this", occurred_at=datetime.now(UTC), source="x")

    with pytest.raises(UnknownEventType):
        event.parsed_data()


def test_catalogue_covers_every_designed_event() -> None:
    assert set(CATALOGUE) == DESIGNED_EVENT_TYPES


@pytest.mark.parametrize("event_type", sorted(CATALOGUE))
def test_every_catalogue_entry_has_a_json_schema(event_type: str) -> None:
    spec = CATALOGUE[event_type]

    schema = spec.model.model_json_schema()

    assert issubclass(spec.model, BaseModel)
    assert event_model(event_type) is spec.model
    assert schema["type"] == "object"
    assert schema["properties"]
    assert spec.summary and spec.producer and spec.consumers
    # The routing key names its producer's domain.
    assert spec.producer.startswith(event_type.split(".")[0])


def test_money_in_event_schemas_is_a_string() -> None:
    properties = CreditsAdded.model_json_schema()["properties"]

    assert properties["amount"]["type"] == "string"
    assert "pattern" in properties["amount"]


def test_parse_delivery_returns_a_valid_envelope() -> None:
    event = new_event(account_created(), source="auth", account_id=ACCOUNT_ID)

    assert parse_delivery(delivery(event.to_json())) == event


@pytest.mark.parametrize("body", [b"not json", b"", b"\xff\xfe", b"[]", b"42", b'{"id": "x"}'])
def test_parse_delivery_treats_non_envelopes_as_poison(body: bytes) -> None:
    with pytest.raises(PoisonMessage, match="m-1"):
        parse_delivery(delivery(body))


def test_parse_delivery_treats_an_unknown_type_as_poison() -> None:
    event = new_event(account_created(), source="auth")
    unknown = event.model_copy(update={"type": "auth.account.exploded"})

    with pytest.raises(PoisonMessage):
        parse_delivery(delivery(unknown.to_json(), routing_key="auth.account.exploded"))


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"account_id": ACCOUNT_ID, "account_name": "Acme"},
        {"account_id": ACCOUNT_ID, "account_name": ["Acme"], "admin_user_id": "u-1"},
    ],
)
def test_parse_delivery_treats_data_off_the_model_as_poison(data: dict[str, object]) -> None:
    event = new_event(account_created(), source="auth")
    broken = event.model_copy(update={"data": data})

    with pytest.raises(PoisonMessage):
        parse_delivery(delivery(broken.to_json()))


def test_parse_delivery_treats_a_float_amount_as_poison() -> None:
    event = new_event(credits_added(), source="billing")
    document = json.loads(event.to_json())
    document["data"]["amount"] = 1180.0

    with pytest.raises(PoisonMessage):
        parse_delivery(delivery(json.dumps(document).encode(), routing_key="billing.credits.added"))


def test_delivery_whose_routing_key_differs_from_the_envelope_type_is_poison() -> None:
    envelope = new_event(
        UserCreated(user_id=str(uuid.uuid4()), role="user"),
        source="auth",
        account_id=str(uuid.uuid4()),
    )
    delivery = Delivery(message_id=envelope.id, routing_key="auth.account.created", body=envelope.to_json(), headers={})
    with pytest.raises(PoisonMessage):
        parse_delivery(delivery)
