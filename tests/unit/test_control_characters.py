"""The control-character guard on its own: what it lets through untouched, and what it names."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import APIRouter, FastAPI, Request
from pydantic import BaseModel

from tollgate_shared.control_characters import ControlCharacterGuard
from tollgate_shared.errors import install_problem_handlers

router = APIRouter()


class Note(BaseModel):
    text: str
    tags: list[str] = []


@router.post("/notes/{note_id}")
async def post_note(note_id: str, note: Note) -> dict[str, Any]:
    return {"note_id": note_id, **note.model_dump()}


@router.post("/webhooks")
async def webhook(request: Request) -> dict[str, int]:
    return {"bytes": len(await request.body())}


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    app = FastAPI()
    install_problem_handlers(app)
    app.include_router(router)
    app.add_middleware(ControlCharacterGuard, routes=router.routes)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as http:
        yield http


def fields(answer: httpx.Response) -> list[str]:
    assert answer.status_code == 422, answer.text
    return [error["field"] for error in answer.json()["errors"]]


async def test_a_clean_request_reaches_the_route_as_it_was_sent(client: httpx.AsyncClient) -> None:
    note = {"text": "Line one\r\n\tline two — ₹ 1,180.00 \u00e9\u20ac", "tags": ["a\\u0000 is text here"]}

    answer = await client.post("/notes/n-1?page=2&q=%E2%82%B9", json=note)

    assert answer.status_code == 200 and answer.json() == {"note_id": "n-1", **note}


async def test_a_body_sent_in_chunks_is_read_whole(client: httpx.AsyncClient) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"text": "par'
        yield b'tly \\u0007"}'

    answer = await client.post("/notes/n-1", content=chunks(), headers={"content-type": "application/json"})

    assert fields(answer) == ["text"]


async def test_every_place_is_named_and_a_field_name_is_never_raw(client: httpx.AsyncClient) -> None:
    body = {"text": "ok", "tags": ["fine", "bell\u0007"], "odd\u0000key": "x"}

    answer = await client.post("/notes/n%00?x=%C2%9F", json=body)

    assert fields(answer) == ["path.note_id", "query.x", "tags.1", "odd\\u0000key"]
    assert answer.json()["errors"][0]["message"] == "must not contain the control character U+0000"
    assert {error["type"] for error in answer.json()["errors"]} == {"control_character"}  # as stable as pydantic's


async def test_a_route_reading_its_own_bytes_is_left_alone(client: httpx.AsyncClient) -> None:
    """A provider's signed webhook is checked by its signature, not refused for what its text holds."""
    answer = await client.post(
        "/webhooks", content=b'{"name": "\\u0000"}', headers={"content-type": "application/json"}
    )

    assert answer.status_code == 200 and answer.json() == {"bytes": 18}


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be", "utf-32"])
async def test_a_body_in_another_unicode_encoding_is_read_as_json_reads_it(
    client: httpx.AsyncClient, encoding: str
) -> None:
    """json.loads decodes UTF-16 and UTF-32 too, and their bytes hold no `\\u` escape to notice."""
    body = '{"text": "a\\u0000b"}'.encode(encoding)  # the JSON escape, as an attacker writes it

    answer = await client.post("/notes/n-1", content=body, headers={"content-type": "application/json"})

    assert fields(answer) == ["text"]
