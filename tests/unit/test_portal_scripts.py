"""The portal's scripts put content into the page only through ui.js's h(), fill() and add().

The DOM's own replaceChildren()/append() print a null or false child as the words "null" and
"false" (a login page said "null" above its Email field); ui.js's helpers leave such children out.
"""

from __future__ import annotations

import re
from pathlib import Path

UI = Path(__file__).resolve().parents[2] / "services" / "gateway" / "gateway" / "ui" / "js"
# A DOM insertion with arguments: `x.append(a)`, `x.replaceChildren(...b)`; an empty replaceChildren() only clears.
RAW_INSERTION = re.compile(r"\.(replaceChildren|append|prepend|before|after|replaceWith)\((?!\))")


def raw_insertions(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if RAW_INSERTION.search(line)]


def test_the_check_finds_a_raw_insertion() -> None:
    assert raw_insertions("card.replaceChildren(...children);\nslot.replaceChildren();") == [
        "card.replaceChildren(...children);"
    ]
    assert raw_insertions("add(section, heading);\nfill(card, a, null);") == []


def test_pages_insert_content_only_through_the_ui_helpers() -> None:
    scripts = [path for path in UI.rglob("*.js") if path.name != "ui.js"]
    assert scripts
    found = {str(path.relative_to(UI)): raw_insertions(path.read_text()) for path in scripts}
    found = {path: lines for path, lines in found.items() if lines}
    assert not found, f"use fill()/add() from ui.js instead of the DOM's own insertion methods: {found}"
