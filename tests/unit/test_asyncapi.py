"""docs/asyncapi.yaml is generated from the event models and cannot drift from them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from tollgate_shared.events import CATALOGUE
from tollgate_shared.events.asyncapi import render

DOCUMENT = Path(__file__).parents[2] / "docs" / "asyncapi.yaml"


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        return [node["$ref"]] if "$ref" in node else [ref for value in node.values() for ref in _refs(value)]
    if isinstance(node, list):
        return [ref for item in node for ref in _refs(item)]
    return []


def _resolve(document: dict[str, Any], ref: str) -> Any:
    node: Any = document
    for part in ref.removeprefix("#/").split("/"):
        node = node[part]
    return node


def test_committed_document_matches_the_models() -> None:
    assert DOCUMENT.read_text() == render(), "run `tollgate asyncapi` and commit docs/asyncapi.yaml"


def test_every_event_of_the_catalogue_has_a_channel_and_a_message() -> None:
    document = yaml.safe_load(DOCUMENT.read_text())
    addresses = {channel["address"] for channel in document["channels"].values()}
    assert addresses == set(CATALOGUE)
    for spec in CATALOGUE.values():
        assert spec.model.__name__ in document["components"]["schemas"]


def test_every_reference_resolves() -> None:
    document = yaml.safe_load(DOCUMENT.read_text())
    references = _refs(document)
    assert len(references) > 3 * len(CATALOGUE)
    for ref in references:
        assert _resolve(document, ref) is not None, ref


def test_money_fields_are_documented_as_decimal_strings() -> None:
    document = yaml.safe_load(DOCUMENT.read_text())
    amount = document["components"]["schemas"]["PaymentSucceeded"]["properties"]["amount"]
    assert amount["type"] == "string" and "pattern" in amount
