"""The web UI: plain files under /ui/, and the page shell at every path the UI routes itself.

No build step: the browser loads /ui/js/app.js as an ES module, which renders
the page for the address (History API). Paths the UI does not know stay 404.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from tollgate_shared.errors import NotFound

UI_DIR = Path(__file__).parent / "ui"
# First path segments the UI's router answers (services/gateway/gateway/ui/js/app.js).
UI_PAGES = frozenset(
    {
        "login",
        "signup",
        "dashboard",
        "account",
        "users",
        "ip-restrictions",
        "billing",
        "invoices",
        "certificates",
        "audit-log",
        "two-factor",
        "finance",
    }
)


def add_ui_routes(api: FastAPI) -> None:
    api.mount("/ui", StaticFiles(directory=UI_DIR), name="ui")

    @api.get("/", include_in_schema=False)
    async def index() -> FileResponse:
        return shell()

    @api.get("/{page}", include_in_schema=False)
    @api.get("/{page}/{rest:path}", include_in_schema=False)
    async def ui_page(page: str, rest: str = "") -> FileResponse:
        if page not in UI_PAGES:
            raise NotFound("No such page.")
        return shell()


def shell() -> FileResponse:
    # The shell is tiny and changes with every release: always revalidate.
    return FileResponse(UI_DIR / "index.html", media_type="text/html", headers={"Cache-Control": "no-cache"})
