"""The package's shape, read from its source (see ARCHITECTURE.md).

No import cycles; each module imports only the parts its own part may import; imports of the
package are relative; pytest's private modules are imported in one module only.

Every import counts, at module level or inside a function (a lazy import still ties two modules
together); only imports under ``if TYPE_CHECKING:`` are left out, since they never run.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

PACKAGE = "pytest_agent_readiness"
SOURCE = Path(__file__).resolve().parent.parent / "src" / PACKAGE


@dataclass(frozen=True)
class Import:
    """One import statement of a package module, resolved to the package module it names."""

    source: str
    target: str
    line: int
    absolute: bool


def module_name(path: Path, root: Path) -> str:
    """The dotted name of the module at ``path`` in the package whose folder is ``root``."""
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def package_modules(root: Path) -> dict[str, Path]:
    """Every module of the package under ``root``, by dotted name."""
    return {module_name(path, root): path for path in sorted(root.rglob("*.py"))}


def _runtime_nodes(tree: ast.AST) -> Iterator[ast.AST]:
    """Every node of ``tree`` except those under ``if TYPE_CHECKING:``."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and ast.unparse(node.test) in (
            "TYPE_CHECKING",
            "typing.TYPE_CHECKING",
        ):
            for other in node.orelse:
                yield other
                yield from _runtime_nodes(other)
            continue
        yield node
        yield from _runtime_nodes(node)


def _owner(name: str, modules: Mapping[str, Path]) -> str:
    while name not in modules and "." in name:
        name = name.rsplit(".", 1)[0]
    return name


def imports_of(name: str, path: Path, modules: Mapping[str, Path]) -> list[Import]:
    """The package modules ``name`` imports when it runs, with each import's line."""
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    top = name.split(".")[0]
    found: list[Import] = []
    for node in _runtime_nodes(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        targets: list[str] = []
        absolute = False
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
                absolute = True
            if module.split(".")[0] != top:
                continue
            # `from . import harness` names a module; `from .model import Agent` names a value.
            targets = [
                f"{module}.{alias.name}" if f"{module}.{alias.name}" in modules else module
                for alias in node.names
            ]
        elif isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names if alias.name.split(".")[0] == top]
            absolute = True
        for target in targets:
            owner = _owner(target, modules)
            if owner != name:
                found.append(Import(name, owner, node.lineno, absolute))
    return found


def import_graph(root: Path) -> dict[str, list[Import]]:
    """Each module of the package under ``root`` and the package modules it imports."""
    modules = package_modules(root)
    return {name: imports_of(name, path, modules) for name, path in modules.items()}


def cycles(graph: Mapping[str, list[Import]]) -> list[list[str]]:
    """The import cycles of ``graph``: each strongly connected set of two or more modules."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        for edge in graph[module]:
            if edge.target not in index:
                visit(edge.target)
                low[module] = min(low[module], low[edge.target])
            elif edge.target in stack:
                low[module] = min(low[module], index[edge.target])
        if low[module] == index[module]:
            component: list[str] = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == module:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for module in graph:
        if module not in index:
            visit(module)
    return found


# Each module's part, as ARCHITECTURE.md lists them. A new module must be placed here.
PARTS: dict[str, tuple[str, ...]] = {
    "api": ("",),
    "manifest": ("model", "manifest", "yamlsource", "paths", "schemacheck", "lock", "files"),
    "checks": ("checks", "catalogue", "people", "waivers", "registry_scan", "scoring"),
    "harness": (
        "harness",
        "session_threads",
        "flag_server",
        "handle",
        "scripted",
        "spans",
        "probes",
        "alert_probes",
        "monitor",
        "integrations",
    ),
    "adversarial": ("adversarial",),
    "evidence": ("evidence", "inputs", "importers", "runplan", "marks", "shards"),
    "scorecard": ("scorecard",),
    "inventory": ("inventory", "inventory_github"),
    "reports": ("reports", "diff", "report_formats"),
    "github": ("github",),
    "cli": ("cli", "inventory_cli", "init", "reference"),
    "pytest": ("plugin", "session", "nodes", "fixtures", "hookspecs", "names", "_pytest_compat"),
}

# The parts each part may import besides itself. The package root (``__version__`` and the
# lazily imported public API) may be imported by any module. No part imports the pytest face:
# pytest reaches it through the ``pytest11`` entry point (plugin.py).
ALLOWED: dict[str, frozenset[str]] = {
    "api": frozenset(),
    "manifest": frozenset(),
    "checks": frozenset({"manifest"}),
    "harness": frozenset({"manifest"}),
    "adversarial": frozenset({"manifest", "checks", "harness"}),
    "evidence": frozenset({"manifest", "checks", "harness", "adversarial", "scorecard"}),
    "scorecard": frozenset({"manifest", "checks"}),
    "inventory": frozenset({"manifest", "scorecard", "github"}),
    "reports": frozenset({"scorecard", "inventory"}),
    "github": frozenset(),
    "cli": frozenset(
        {
            "manifest",
            "checks",
            "harness",
            "adversarial",
            "evidence",
            "scorecard",
            "inventory",
            "reports",
            "github",
        }
    ),
    "pytest": frozenset(
        {"manifest", "checks", "harness", "adversarial", "evidence", "scorecard", "reports"}
    ),
}
# Single modules a part may read beyond its parts: renderers take the dimension names (and
# their order) from the model, the one thing they share with the manifest.
ALLOWED_MODULES: dict[str, frozenset[str]] = {"reports": frozenset({f"{PACKAGE}.model"})}
PRIVATE_PYTEST_MODULE = f"{PACKAGE}._pytest_compat"
# Modules outside the pytest face that may import pytest's public API when they run: the CLI's
# ``validate`` asks pytest's plugin manager which checks the installed policy packs register.
PYTEST_USERS = frozenset({f"{PACKAGE}.cli"})


def part_of(module: str) -> str:
    """The part ``module`` belongs to, by its first name below the package."""
    first = module.split(".")[1] if "." in module else ""
    for part, firsts in PARTS.items():
        if first in firsts:
            return part
    raise LookupError(f"{module} is in no part: add it to PARTS (and to ARCHITECTURE.md)")


def direction_problems(graph: Mapping[str, list[Import]]) -> list[str]:
    """Each import that goes against :data:`ALLOWED`, as 'module:line imports target (a -> b)'."""
    problems: list[str] = []
    for module, edges in graph.items():
        source = part_of(module)
        for edge in edges:
            target = part_of(edge.target)
            if target in (source, "api") or target in ALLOWED[source]:
                continue
            if edge.target in ALLOWED_MODULES.get(source, frozenset()):
                continue
            problems.append(f"{module}:{edge.line} imports {edge.target} ({source} -> {target})")
    return problems


def absolute_names(node: ast.AST) -> list[str]:
    """The modules an absolute ``import``/``from ... import`` node names (none for others)."""
    if isinstance(node, ast.ImportFrom) and not node.level:
        return [node.module or ""]
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    return []


def private_pytest_imports(root: Path) -> list[str]:
    """Each ``_pytest`` import outside the compat module, TYPE_CHECKING blocks included."""
    found: list[str] = []
    for name, path in package_modules(root).items():
        if name == PRIVATE_PYTEST_MODULE:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = absolute_names(node)
            found += [f"{name}:{node.lineno} imports {n}" for n in names if n.startswith("_pytest")]
    return found


def pytest_imports(root: Path) -> list[str]:
    """Each module outside the pytest face (and :data:`PYTEST_USERS`) that imports pytest (or
    pluggy) when it runs."""
    found: list[str] = []
    for name, path in package_modules(root).items():
        if part_of(name) == "pytest" or name in PYTEST_USERS:
            continue
        for node in _runtime_nodes(ast.parse(path.read_text(encoding="utf-8"))):
            names = absolute_names(node)
            found += [
                f"{name}:{node.lineno} imports {n}"
                for n in names
                if n.split(".")[0] in ("pytest", "_pytest", "pluggy")
            ]
    return found


def _describe(component: list[str], graph: Mapping[str, list[Import]]) -> str:
    inside = set(component)
    return "; ".join(
        f"{edge.source}:{edge.line} imports {edge.target}"
        for module in component
        for edge in graph[module]
        if edge.target in inside
    )


def test_the_package_has_no_import_cycle() -> None:
    graph = import_graph(SOURCE)
    assert len(graph) > 30, "the walk found the package's modules"
    found = cycles(graph)
    assert not found, "import cycles: " + " | ".join(_describe(c, graph) for c in found)


def test_every_import_goes_the_allowed_direction() -> None:
    assert direction_problems(import_graph(SOURCE)) == []


def absolute_self_imports(root: Path) -> list[str]:
    """Each import of the package by its full name from inside it, TYPE_CHECKING blocks included
    (code that init writes into users' projects is text here, not an import)."""
    found: list[str] = []
    for name, path in package_modules(root).items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = absolute_names(node)
            found += [
                f"{name}:{node.lineno} imports {n}" for n in names if n.split(".")[0] == root.name
            ]
    return found


def test_the_package_imports_itself_relatively() -> None:
    assert absolute_self_imports(SOURCE) == []


def test_private_pytest_imports_live_in_one_module() -> None:
    assert private_pytest_imports(SOURCE) == []
    compat = (SOURCE / "_pytest_compat.py").read_text(encoding="utf-8")
    assert re.search(r"pytest \d+\.\d+", compat), "the compat module names the pytest versions"


def test_only_the_pytest_face_imports_pytest() -> None:
    assert pytest_imports(SOURCE) == []


def test_every_module_is_in_a_part_architecture_md_names() -> None:
    text = (SOURCE.parent.parent / "ARCHITECTURE.md").read_text(encoding="utf-8")
    for module in package_modules(SOURCE):
        part_of(module)
        shown = module.split(".", 1)[1] if "." in module else PACKAGE
        assert f"`{shown.split('.')[0]}`" in text, f"ARCHITECTURE.md does not place {shown}"


@pytest.mark.parametrize(
    ("files", "cycle"),
    [
        (
            {"a.py": "from . import b\n", "b.py": "def f():\n    from .a import x\n"},
            ["pkg.a", "pkg.b"],
        ),
        (
            {
                "a.py": "from .b import y\n",
                "b.py": "from .sub.c import z\n",
                "sub/__init__.py": "",
                "sub/c.py": "from ..a import x\n",
            },
            ["pkg.a", "pkg.b", "pkg.sub.c"],
        ),
        ({"a.py": "import pkg.b\n", "b.py": "from pkg import a\n"}, ["pkg.a", "pkg.b"]),
        (
            {
                "a.py": "import typing\nif typing.TYPE_CHECKING:\n    from .b import y\n",
                "b.py": "from .a import x\n",
            },
            None,
        ),
    ],
    ids=["lazy", "through-subpackage", "absolute", "type-checking-only"],
)
def test_the_walk_sees_every_kind_of_import(
    tmp_path: Path, files: dict[str, str], cycle: list[str] | None
) -> None:
    root = tmp_path / "pkg"
    root.mkdir()
    (root / "__init__.py").write_text("")
    for name, text in files.items():
        (root / name).parent.mkdir(exist_ok=True)
        (root / name).write_text(text)
    assert cycles(import_graph(root)) == ([cycle] if cycle else [])
