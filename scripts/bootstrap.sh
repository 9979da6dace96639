#!/usr/bin/env sh
# Install uv if this machine lacks it, then the locked dependencies of the whole workspace.
set -eu
cd "$(dirname "$0")/.."
if ! command -v uv >/dev/null 2>&1; then
    python3 -m pip install --quiet --user uv 2>/dev/null || python3 -m pip install --quiet uv
    PATH="$HOME/.local/bin:$PATH"
fi
# Compiled to bytecode once here: where PYTHONDONTWRITEBYTECODE is set (containers, CI) nothing is
# written at import, and every process - the tests start dozens of `tollgate serve` and CLI
# processes - would otherwise compile every module it imports, about half of its start-up CPU.
uv sync --frozen --quiet --compile-bytecode
