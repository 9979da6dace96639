"""The layout the README's "Layout" paragraph describes holds for every service with a database.

A newcomer finds an endpoint's rule by the paragraph alone only while it stays true: these tests keep it so.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("auth", "billing", "invoicing")
FOLDERS = {"api", "use_cases", "domain", "adapters", "migrations"}
# What may sit at a service package's root besides the folders: the composition root, the settings and the
# table of the events it consumes (auth consumes none).
ROOT_MODULES = {"auth": {"app.py", "settings.py"}, "billing": {"app.py", "settings.py", "handlers.py"}}
ROOT_MODULES["invoicing"] = ROOT_MODULES["billing"]
# A domain module decides: it talks to no database, broker, web framework or network.
INPUT_OUTPUT = {"sqlalchemy", "fastapi", "starlette", "aio_pika", "aiormq", "asyncpg", "aiohttp", "httpx", "stripe"}
LONGEST_MODULE = 300


def package(service: str) -> Path:
    return ROOT / "services" / service / service


def modules(folder: Path) -> list[Path]:
    return sorted(path for path in folder.rglob("*.py") if path.name != "__init__.py")


def imported(path: Path) -> set[str]:
    """What `path` imports to run; imports for type checking only (`if TYPE_CHECKING:`) do not count."""
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING":
            node.body = []
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
    return names


@pytest.mark.parametrize("service", SERVICES)
def test_a_service_holds_the_same_folders_and_nothing_loose_at_its_root(service: str) -> None:
    entries = {path.name for path in package(service).iterdir() if path.name not in {"__init__.py", "__pycache__"}}

    assert entries == FOLDERS | ROOT_MODULES[service]


@pytest.mark.parametrize("service", SERVICES)
def test_the_domain_decides_without_input_or_output(service: str) -> None:
    outer = {f"{service}.{layer}" for layer in ("adapters", "use_cases", "api")}
    offending = {
        path.relative_to(ROOT).as_posix(): sorted(
            name for name in imported(path) if name.split(".")[0] in INPUT_OUTPUT or name.rsplit(".", 1)[0] in outer
        )
        for path in modules(package(service) / "domain")
    }

    assert {path: names for path, names in offending.items() if names} == {}


@pytest.mark.parametrize("service", SERVICES)
def test_a_use_case_says_what_it_takes_and_answers(service: str) -> None:
    loose = []
    for path in modules(package(service) / "use_cases"):
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.AsyncFunctionDef | ast.FunctionDef) and not node.name.startswith("_"):
                annotations = [arg.annotation for arg in node.args.args + node.args.kwonlyargs] + [node.returns]
                if any(a is None or re.search(r"\bAny\b", ast.unparse(a)) for a in annotations):
                    loose.append(f"{path.relative_to(ROOT)}:{node.name}")

    assert loose == []


def test_no_module_is_longer_than_one_idea() -> None:
    folders = [ROOT / "shared", ROOT / "tollgate", ROOT / "chaos", ROOT / "finance_approval", ROOT / "services"]
    lengths = {
        path.relative_to(ROOT).as_posix(): len(path.read_text().splitlines())
        for folder in folders
        for path in modules(folder)
        if "migrations" not in path.parts
    }

    assert {path: lines for path, lines in lengths.items() if lines > LONGEST_MODULE} == {}


def test_a_test_module_takes_what_it_shares_from_tests_support() -> None:
    # A test module importing another runs that module's fixtures and collection twice, and hides shared
    # helpers where nobody looks for them: what more than one module uses lives in tests/support/.
    borrowed = {
        path.relative_to(ROOT).as_posix(): sorted(
            name for name in imported(path) if re.match(r"tests\.\w+\.(test_|conftest)", name)
        )
        for path in modules(ROOT / "tests")
    }

    assert {path: names for path, names in borrowed.items() if names} == {}
