"""What a 422 says about a field, in the words a person uses, for pydantic's common error types.

pydantic's own messages are written for programmers ("String should have at least 1
character", "Input should be a valid integer, unable to parse string as an integer").
Each message here is a fragment that reads after the field's name ("must be filled in");
the portal shows it next to the field, capitalised. The error's `type` (pydantic's) stays
in the answer for API clients.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from tollgate_shared.money import MONEY_PATTERN

FILLED_IN = "must be filled in"
_EMAIL = "must be an email address, such as name@example.com"


def _characters(count: Any) -> str:
    return "1 character" if count == 1 else f"{count} characters"


def _entries(count: Any) -> str:
    return "1 entry" if count == 1 else f"{count} entries"


def _too_short(context: Mapping[str, Any]) -> str:
    least = context.get("min_length", 1)
    return FILLED_IN if least == 1 else f"must be at least {_characters(least)} long"


def _too_few(context: Mapping[str, Any]) -> str:
    least = context.get("min_length", 1)
    return "must have at least one entry" if least == 1 else f"must have at least {_entries(least)}"


def _pattern(context: Mapping[str, Any]) -> str:
    if context.get("pattern") == MONEY_PATTERN.pattern:
        return "must be an amount such as 5000 or 5000.00"
    return "is not in the expected form"


def _one_of(context: Mapping[str, Any]) -> str:
    return f"must be one of {context['expected']}" if "expected" in context else "is not one of the allowed values"


_WHOLE_NUMBER = "must be a whole number"
_NUMBER = "must be a number"
_DATE = "must be a date written YYYY-MM-DD"
_DATETIME = "must be a date and time with its offset, such as 2026-01-31T09:30:00Z"

# pydantic error type -> the fragment (or a function of the error's context giving it).
WORDING: dict[str, str | Callable[[Mapping[str, Any]], str]] = {
    "missing": FILLED_IN,
    "string_too_short": _too_short,
    "string_too_long": lambda c: f"must be at most {_characters(c.get('max_length'))} long",
    "string_type": "must be text",
    "string_pattern_mismatch": _pattern,
    "too_short": _too_few,
    "too_long": lambda c: f"must have at most {_entries(c.get('max_length'))}",
    "int_type": _WHOLE_NUMBER,
    "int_parsing": _WHOLE_NUMBER,
    "int_from_float": _WHOLE_NUMBER,
    "float_type": _NUMBER,
    "float_parsing": _NUMBER,
    "decimal_type": _NUMBER,
    "decimal_parsing": _NUMBER,
    "greater_than": lambda c: f"must be more than {c.get('gt')}",
    "greater_than_equal": lambda c: f"must be at least {c.get('ge')}",
    "less_than": lambda c: f"must be less than {c.get('lt')}",
    "less_than_equal": lambda c: f"must be at most {c.get('le')}",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "literal_error": _one_of,
    "enum": _one_of,
    "date_type": _DATE,
    "date_parsing": _DATE,
    "date_from_datetime_parsing": _DATE,
    "date_from_datetime_inexact": _DATE,
    "datetime_type": _DATETIME,
    "datetime_parsing": _DATETIME,
    "datetime_from_date_parsing": _DATETIME,
    "timezone_aware": _DATETIME,
    "uuid_type": "is not a valid id",
    "uuid_parsing": "is not a valid id",
    "extra_forbidden": "is not a field of this request",
    "model_type": "must be a JSON object",
    "model_attributes_type": "must be a JSON object",
    "dict_type": "must be a JSON object",
    "list_type": "must be a list",
}


def field_message(error_type: str, message: str, context: Mapping[str, Any] | None = None, value: Any = None) -> str:
    """The fragment a person reads about a field, for a pydantic error of `error_type` with `message`.

    Our own validators (`value_error`, `assertion_error`) already speak a person's words and
    keep them; an email address pydantic refuses gets one plain sentence; an empty text is
    one not filled in, whatever its least length.
    """
    if value == "" and error_type == "string_too_short":
        return FILLED_IN
    if error_type in ("value_error", "assertion_error"):
        text = message.removeprefix("Value error, ").removeprefix("Assertion failed, ")
        return _EMAIL if text.startswith("value is not a valid email address") else text
    wording = WORDING.get(error_type)
    if wording is None:
        return "is not valid"
    return wording if isinstance(wording, str) else wording(context or {})
