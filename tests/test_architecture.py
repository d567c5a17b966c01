"""The house as drawn in docs/architecture.md, enforced: imports run one way

    readers → model;  enrich → model;  store/search → model
    services → store/search/enrich/readers/model;  web/cli → services (+ model)

only store/ and search/ speak SQL (SQLAlchemy, or SQL text in a string), and no module
in src/ is longer than 500 lines. The imports are read with ``ast`` from the source, so
a new arrow against the flow fails here before it lands.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "opis"

# What each room may import from opis (besides itself). ``config`` is the settings leaf;
# ``names`` is the romanisation/authority-key toolkit, a pure function library.
ALLOWED: dict[str, set[str]] = {
    "model": set(),
    "names": set(),
    "config": set(),
    "readers": {"model"},
    "enrich": {"model", "names"},
    "store": {"model", "config"},
    "search": {"model", "names", "enrich"},  # enrich: the embedder behind vectors.py
    "services": {"model", "names", "readers", "enrich", "store", "search", "config"},
    "web": {"services", "model", "config", "search.base", "web", "opis"},
    "cli": {"services", "model", "config", "search.base", "web", "cli", "opis"},
}
# The interfaces use the search vocabulary (SearchRequest, Hit), never an engine.
INTERFACE_SEARCH = "search.base"
# Arrows against the flow that exist today and are being removed, each with why; a new
# one fails the test, and one that disappears must be struck from this list.
KNOWN: dict[tuple[str, str], str] = {
    ("opis/search/vectors.py", "opis.store"): "reads the passages table through the store's "
                                              "passage queries; the catch-up belongs in a "
                                              "service handing it rows (issue 20)",
}
# SQL in a string: a statement keyword followed by what makes it a statement.
SQL = re.compile(r"\b(SELECT\s+[\w*(]|INSERT\s+INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM|"
                 r"CREATE\s+(TABLE|INDEX)|ANALYZE\b|PRAGMA\s+\w)", re.IGNORECASE)
MAX_LINES = 500
# Over 500 lines today, each to be split; a module may leave this list, never join it.
LONG: dict[str, int] = {}
BENCH = PACKAGE / "bench"  # leaving the wheel (issue 14, item 6): not part of the house


def modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if BENCH not in p.parents)


def room(path: Path) -> str:
    rel = path.relative_to(PACKAGE)
    if len(rel.parts) == 1:
        name = rel.stem
        return "cli" if name.startswith("cli") or name == "__main__" else name
    return rel.parts[0]


def name_of(path: Path) -> str:
    return str(path.relative_to(SRC))


def imports(path: Path) -> list[tuple[int, str]]:
    """(line, absolute module) of every opis import, relative ones resolved."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    package = ".".join(path.relative_to(SRC).with_suffix("").parts[:-1])
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join([*base, module] if module else base)
            out.append((node.lineno, module))
    return [(n, m) for n, m in out if m == "opis" or m.startswith("opis.")]


def target(module: str) -> str:
    parts = module.split(".")
    if len(parts) == 1:
        return "opis"
    head = parts[1]
    if head.startswith("cli") or head == "__main__":
        return "cli"
    if head == "search" and len(parts) > 2 and parts[2] == "base":
        return INTERFACE_SEARCH
    return head


def violations(path: Path) -> list[str]:
    me = room(path)
    allowed = ALLOWED.get(me, set())
    out = []
    for line, module in imports(path):
        there = target(module)
        if there == me or there in allowed or there == "bench":  # bench: leaving src/
            continue
        if there == INTERFACE_SEARCH and ("search" in allowed or me == "search"):
            continue
        if (name_of(path), module) in KNOWN:
            continue
        out.append(f"{name_of(path)}:{line} ({me}) imports {module} ({there})")
    return out


def test_imports_run_with_the_flow():
    found = [v for p in modules() for v in violations(p)]
    assert found == [], "\n".join(found)


def test_the_known_exceptions_still_exist():
    """An exception that has been fixed is struck from KNOWN, so it cannot come back."""
    for (where, module), _why in KNOWN.items():
        path = SRC / where
        assert path.exists() and module in {m for _, m in imports(path)}, where


def test_only_store_and_search_speak_sql():
    found = []
    for path in modules():
        if room(path) in ("store", "search"):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import | ast.ImportFrom):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) \
                    else [node.module or ""]
                found += [f"{name_of(path)}:{node.lineno} imports {n}" for n in names
                          if n == "sqlalchemy" or n.startswith("sqlalchemy.")]
            elif isinstance(node, ast.Constant) and isinstance(node.value, str) \
                    and SQL.search(node.value):
                found.append(f"{name_of(path)}:{node.lineno} SQL {node.value[:50]!r}")
    # Services that still build SQL (issue 14, step 3: store query modules) are listed
    # by file; a file not named here fails at its first SQL.
    still: set[str] = set()
    new = [f for f in found if f.split(":")[0] not in still]
    assert new == [], "\n".join(new)
    gone = still - {f.split(":")[0] for f in found}
    assert not gone, f"no SQL left in {sorted(gone)}: strike them from the list"


def test_no_module_is_longer_than_500_lines():
    found = []
    for path in modules():
        n = len(path.read_text(encoding="utf-8").splitlines())
        ceiling = LONG.get(name_of(path), MAX_LINES)
        if n > ceiling:
            found.append(f"{name_of(path)}: {n} lines (at most {ceiling})")
    assert found == [], "\n".join(found)


@pytest.mark.parametrize("source, bad", [
    ("from opis.store.db import Database\n", "opis/web/app.py"),
    ("from opis.enrich.language import detect_language\n", "opis/readers/ocr.py"),
    ("from opis.services import reading\n", "opis/store/records.py"),
    ("from ..services.archive import Archive\n", "opis/search/tantivy_engine.py"),
])
def test_the_rule_catches_an_arrow_against_the_flow(tmp_path, source, bad):
    """The checker itself: each of these imports, put in that module, is refused."""
    fake = tmp_path / "src" / bad
    fake.parent.mkdir(parents=True)
    fake.write_text(source, encoding="utf-8")
    globals()["SRC"], saved = tmp_path / "src", SRC
    globals()["PACKAGE"], saved_pkg = tmp_path / "src" / "opis", PACKAGE
    try:
        assert violations(fake), source
    finally:
        globals()["SRC"], globals()["PACKAGE"] = saved, saved_pkg


def environment_reads(path: Path) -> list[str]:
    """Places that read the process environment: ``os.environ`` loaded (not assigned),
    ``os.getenv``."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in ("environ", "getenv") \
                and isinstance(node.value, ast.Name) and node.value.id == "os":
            out.append(f"{name_of(path)}:{node.lineno}")
    assigned = {f"{name_of(path)}:{n.lineno}" for n in ast.walk(tree)
                if isinstance(n, ast.Assign) and any(
                    isinstance(t, ast.Subscript) and isinstance(t.value, ast.Attribute)
                    and t.value.attr == "environ" for t in n.targets)}
    return [where for where in out if where not in assigned]


def test_only_config_reads_the_environment():
    """Every OPIS_* setting is read and checked in opis/config.py; a command may set a
    variable for the workers it starts, never read one itself."""
    found = [w for p in modules() if name_of(p) != "opis/config.py"
             for w in environment_reads(p)]
    assert found == [], "\n".join(found)
