"""Agents the code constructs, found by reading the source: the sprawl a manifest cannot see.

A static scan (``ast``; nothing is imported or run) of the Python files under a repository
root finds each call that builds an agent with a supported framework:

- PydanticAI ``Agent(...)`` (``pydantic_ai.Agent``),
- the OpenAI Agents SDK ``Agent(...)`` (``agents.Agent``),
- LangChain's ``create_agent(...)`` and LangGraph's ``create_react_agent(...)``.

A call counts only when its name resolves through the file's imports to one of those
(``from pydantic_ai import Agent``, ``import agents``, ``from agents import Agent as SdkAgent``),
so a class of the team's own that happens to be called ``Agent`` is never one. When the
repository holds a top-level module or package of a framework's import name (a team's own
``agents/`` package), imports of that name are the team's, not the framework's.

Which manifest entry an agent is: its name, when the call passes a literal one (``name="x"``,
or a module-level constant assigned one literal string; the Agents SDK also takes it as the
first positional argument); otherwise the variable or attribute the call is assigned to
(``triage_bot = Agent(...)``, ``self.triage_bot = ...``), or the function that returns it
(``def build_triage_bot(): return Agent(...)``, a leading ``build_``, ``make_``, ``create_``,
``new_`` or ``get_`` dropped). Names compare case-insensitively with runs of anything but
letters and digits only (``Triage Bot``, ``TriageBot``, ``triage_bot`` and ``triage-bot`` are one).
A call whose name no manifest key matches, or with no name, is unregistered.

A ``# agent-readiness: ignore <reason>`` comment on any line of the statement that builds the
agent opts it out; the reason is required (an ignore without one is reported as such).
"""

from __future__ import annotations

import ast
import io
import os
import re
import time
import tokenize
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "CONSTRUCTORS",
    "ConstructedAgent",
    "SourceScan",
    "match_key",
    "scan_file",
    "scan_repository",
    "unregistered",
]

# Fully qualified callable -> the words a report uses for it.
CONSTRUCTORS: Mapping[str, str] = {
    "pydantic_ai.Agent": "PydanticAI Agent(...)",
    "pydantic_ai.agent.Agent": "PydanticAI Agent(...)",
    "agents.Agent": "OpenAI Agents SDK Agent(...)",
    "agents.agent.Agent": "OpenAI Agents SDK Agent(...)",
    "langchain.agents.create_agent": "LangChain create_agent(...)",
    "langchain.agents.factory.create_agent": "LangChain create_agent(...)",
    "langchain.agents.create_react_agent": "LangChain create_react_agent(...)",
    "langgraph.prebuilt.create_react_agent": "LangGraph create_react_agent(...)",
    "langgraph.prebuilt.chat_agent_executor.create_react_agent": (
        "LangGraph create_react_agent(...)"
    ),
}
# Constructors whose first positional argument is the agent's name.
_NAME_FIRST = frozenset({"agents.Agent", "agents.agent.Agent"})
_FRAMEWORK_MODULES = frozenset(name.partition(".")[0] for name in CONSTRUCTORS)

# Directories never scanned: version control, environments, caches, build output, and tests
# (test doubles build agents too; a test's agent is not one the company runs).
SKIPPED_DIRS = frozenset(
    {
        "node_modules",
        "site-packages",
        "dist-packages",
        "__pycache__",
        "build",
        "dist",
        "venv",
        "env",
        "tests",
        "test",
    }
)
MANIFEST_NAME = "agent-readiness.yaml"
MAX_FILES = 10_000
MAX_FILE_BYTES = 2_000_000
MAX_SECONDS = 60.0

# A line that imports a framework module (also inside a function, or after other modules on
# an ``import`` line): only such files are parsed.
_IMPORTS_FRAMEWORK = re.compile(
    rb"^[ \t]*(?:from[ \t]+(?:%(m)s)\b|import[ \t]+[^\n#]*\b(?:%(m)s)\b)"
    % {b"m": "|".join(sorted(_FRAMEWORK_MODULES)).encode()},
    re.MULTILINE,
)
_IGNORE = re.compile(r"#\s*agent-readiness:\s*ignore\b(?P<reason>.*)$", re.IGNORECASE)
_NAME_CHARS = 80
_FACTORY_PREFIX = re.compile(r"^(?:build|make|create|new|get)_(?=.)")


def match_key(name: str) -> str:
    """``name`` as manifest keys and code names are compared: its letters and digits, lower
    case (``RefundAgent``, ``refund_agent`` and ``refund-agent`` are one)."""
    return re.sub(r"[^0-9a-z]+", "", name.lower())


@dataclass(frozen=True)
class ConstructedAgent:
    """One call in the code that builds an agent with a supported framework."""

    file: str  # relative to the scanned root, '/'-separated
    line: int
    framework: str  # e.g. 'PydanticAI Agent(...)'
    name: str | None  # the name the mapping rule gives, None when unnamed
    named_by: str  # 'name=' | 'variable' | 'function' | 'unnamed'
    ignored: str | None = None  # the ignore comment's reason
    ignore_without_reason: int | None = None  # the line of an ignore comment with no reason

    @property
    def where(self) -> str:
        """``file:line``."""
        return f"{self.file}:{self.line}"

    @property
    def shown_name(self) -> str | None:
        """The name as a report may print it: a name is the code's text, so anything but
        printable characters shows as U+FFFD, and a long one is cut."""
        if self.name is None:
            return None
        printable = "".join(c if c.isprintable() else "\ufffd" for c in self.name)
        return printable if len(printable) <= _NAME_CHARS else printable[:_NAME_CHARS] + "…"

    def describe(self) -> str:
        """What the agent is and how it was named, for a check's reason."""
        if self.name is None:
            return f"{self.where} {self.framework} with no name"
        how = {"name=": "named", "variable": "assigned to", "function": "built by"}[self.named_by]
        return f"{self.where} {self.framework} {how} '{self.shown_name}'"


@dataclass(frozen=True)
class SourceScan:
    """What one scan found: every agent construction, and what could not be read."""

    root: str
    agents: tuple[ConstructedAgent, ...]
    skipped: tuple[str, ...]  # 'file:line: why' for each file that was not scanned
    incomplete: str | None  # why the scan stopped early (a bound), or None
    files: int


def unregistered(scan: SourceScan, declared: Collection[str]) -> list[ConstructedAgent]:
    """The agents of ``scan`` that no key of ``declared`` names and no ignore comment excuses."""
    keys = {match_key(name) for name in declared}
    return [
        agent
        for agent in scan.agents
        if agent.ignored is None and (agent.name is None or match_key(agent.name) not in keys)
    ]


def _local_modules(root: Path) -> frozenset[str]:
    """Framework import names the repository defines itself (a team's own ``agents/``)."""
    local = set()
    for base in (root, root / "src"):
        for module in _FRAMEWORK_MODULES:
            if (base / module / "__init__.py").is_file() or (base / f"{module}.py").is_file():
                local.add(module)
    return frozenset(local)


def _is_environment(directory: Path) -> bool:
    return (directory / "pyvenv.cfg").is_file()


def _python_files(root: Path, own: Path) -> Iterator[Path]:
    """Python source files under ``root`` in a stable order, outside skipped directories and
    other manifests' folders, not following directory symlinks (a link could lead outside the
    repository, or in a loop)."""
    # A file belongs to the nearest folder at or above it holding a manifest (``own`` holds
    # this one); folders that hold another are that manifest's, so a monorepo's services do
    # not report each other's agents. Files no manifest claims are every manifest's concern.
    owners: dict[Path, Path | None] = {}
    # Folders walked only because this manifest lies below them (another manifest's folder, or
    # one skipped otherwise, such as tests/): none of their own files is read.
    passages: set[Path] = set()
    for current, directories, files in os.walk(root):
        here = Path(current)
        if here == own or (here / MANIFEST_NAME).is_file():
            owner: Path | None = here
        else:
            owner = owners.get(here.parent)
        owners[here] = owner
        closed = here in passages or (owner is not None and owner != own)
        kept = []
        for name in sorted(directories):
            child = here / name
            skipped = (
                name.startswith(".")
                or name in SKIPPED_DIRS
                or name.endswith(".egg-info")
                or _is_environment(child)
            )
            if own.is_relative_to(child):
                kept.append(name)
                if (closed or skipped) and child != own:
                    passages.add(child)
            elif not closed and not skipped:
                kept.append(name)
        directories[:] = kept
        if closed:
            continue
        for name in sorted(files):
            if not name.endswith(".py") or name == "conftest.py":
                continue
            if name.startswith("test_") or name.endswith("_test.py"):
                continue
            path = here / name
            if path.is_symlink():
                continue
            yield path


def scan_repository(
    root: Path,
    manifest_dir: Path | None = None,
    *,
    max_files: int = MAX_FILES,
    max_seconds: float = MAX_SECONDS,
) -> SourceScan:
    """Every agent construction in the Python files under ``root`` that belong to the manifest in
    ``manifest_dir`` (default: ``root``), by the module's rules."""
    root = root.resolve()
    own = manifest_dir.resolve() if manifest_dir is not None else root
    local = _local_modules(root)
    found: list[ConstructedAgent] = []
    skipped: list[str] = []
    incomplete: str | None = None
    started = time.monotonic()
    count = 0
    for path in _python_files(root, own):
        if count >= max_files:
            incomplete = f"the scan stopped at {max_files} Python files"
            break
        if time.monotonic() - started > max_seconds:
            incomplete = f"the scan stopped after {max_seconds:g} seconds ({count} files read)"
            break
        count += 1
        shown = path.relative_to(root).as_posix()
        try:
            if path.stat().st_size > MAX_FILE_BYTES:
                skipped.append(f"{shown}: larger than {MAX_FILE_BYTES} bytes (generated code?)")
                continue
            source = path.read_bytes()
        except OSError as error:
            skipped.append(f"{shown}: cannot be read: {error.strerror or type(error).__name__}")
            continue
        try:
            found.extend(scan_file(source, shown, local_modules=local))
        except SyntaxError as error:
            skipped.append(f"{shown}:{error.lineno or 1}: does not parse: {error.msg}")
        except (ValueError, UnicodeDecodeError) as error:
            # A NUL byte, or bytes the declared encoding cannot decode.
            skipped.append(f"{shown}: does not parse: {error}")
    return SourceScan(str(root), tuple(found), tuple(skipped), incomplete, count)


def scan_file(
    source: bytes, file: str, *, local_modules: Collection[str] = ()
) -> list[ConstructedAgent]:
    """The agent constructions in one file's ``source`` (raises :class:`SyntaxError`)."""
    if not _IMPORTS_FRAMEWORK.search(source):
        return []  # imports no framework: nothing to parse (most files of a repository)
    tree = ast.parse(source, filename=file)
    imports = _imports(tree, frozenset(local_modules))
    if not imports:
        return []
    calls: list[tuple[ast.Call, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            qualified = _qualified(node.func, imports)
            if qualified is not None and qualified in CONSTRUCTORS:
                calls.append((node, qualified))
    if not calls:
        return []
    constants = _string_constants(tree)
    comments = _ignore_comments(source)
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    found = []
    for node, qualified in calls:
        statement = _statement(node, parents)
        name, named_by = _name(node, qualified, statement, parents, constants)
        ignored, bare = _ignore(statement, node, comments)
        found.append(
            ConstructedAgent(
                file, node.lineno, CONSTRUCTORS[qualified], name, named_by, ignored, bare
            )
        )
    return sorted(found, key=lambda agent: agent.line)


def _imports(tree: ast.Module, local: frozenset[str]) -> dict[str, str]:
    """Each name the file binds by import -> the dotted thing it stands for (framework imports
    only: nothing else can resolve to a constructor)."""
    bound: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                top = alias.name.partition(".")[0]
                if top not in _FRAMEWORK_MODULES or top in local:
                    continue
                # 'import a.b' binds 'a'; 'import a.b as c' binds 'c' to 'a.b'.
                if alias.asname:
                    bound[alias.asname] = alias.name
                else:
                    bound[top] = top
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            top = node.module.partition(".")[0]
            if top not in _FRAMEWORK_MODULES or top in local:
                continue
            for alias in node.names:
                bound[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return bound


def _qualified(func: ast.expr, imports: Mapping[str, str]) -> str | None:
    """``func`` as a dotted name through the file's imports, or None."""
    attributes: list[str] = []
    while isinstance(func, ast.Attribute):
        attributes.append(func.attr)
        func = func.value
    if not isinstance(func, ast.Name) or func.id not in imports:
        return None
    return ".".join([imports[func.id], *reversed(attributes)])


def _string_constants(tree: ast.Module) -> dict[str, str]:
    """Module-level names assigned one literal string, and never anything else at top level."""
    values: dict[str, str | None] = {}
    for statement in tree.body:
        targets: list[ast.expr] = []
        value: ast.expr | None = None
        if isinstance(statement, ast.Assign):
            targets, value = statement.targets, statement.value
        elif isinstance(statement, ast.AnnAssign):
            targets, value = [statement.target], statement.value
        for target in targets:
            if not isinstance(target, ast.Name):
                continue
            literal = (
                value.value
                if isinstance(value, ast.Constant) and isinstance(value.value, str)
                else None
            )
            values[target.id] = literal if target.id not in values else None
    return {name: value for name, value in values.items() if value is not None}


def _statement(node: ast.AST, parents: Mapping[ast.AST, ast.AST]) -> ast.AST:
    while not isinstance(node, ast.stmt) and node in parents:
        node = parents[node]
    return node


def _literal(node: ast.expr, constants: Mapping[str, str]) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.strip():
        return node.value
    if isinstance(node, ast.Name):
        return constants.get(node.id)
    return None


def _target_name(target: ast.expr) -> str | None:
    if isinstance(target, ast.Name):
        return target.id
    if isinstance(target, ast.Attribute):
        return target.attr
    return None


def _name(
    call: ast.Call,
    qualified: str,
    statement: ast.AST,
    parents: Mapping[ast.AST, ast.AST],
    constants: Mapping[str, str],
) -> tuple[str | None, str]:
    """The agent's name by the module's rule, and which part of the rule gave it."""
    given = next((kw.value for kw in call.keywords if kw.arg == "name"), None)
    if given is None and qualified in _NAME_FIRST and call.args:
        given = call.args[0]
    if given is not None:
        literal = _literal(given, constants)
        if literal is not None:
            return literal, "name="
    if isinstance(statement, (ast.Assign, ast.AnnAssign)) and statement.value is call:
        targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
        named = [name for name in map(_target_name, targets) if name]
        if named:
            return named[0], "variable"
    if isinstance(statement, ast.Return) and statement.value is call:
        function: ast.AST = statement
        while function in parents and not isinstance(
            function, (ast.FunctionDef, ast.AsyncFunctionDef)
        ):
            function = parents[function]
        if isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
            return _FACTORY_PREFIX.sub("", function.name), "function"
    return None, "unnamed"


def _ignore_comments(source: bytes) -> dict[int, str]:
    """Line -> the reason of each ``# agent-readiness: ignore`` comment ('' when none given).

    Read with :mod:`tokenize`, so the words inside a string are not a comment."""
    comments: dict[int, str] = {}
    if b"agent-readiness" not in source.lower():
        return comments  # the common case: no comment to look for, no need to tokenize
    try:
        for token in tokenize.tokenize(io.BytesIO(source).readline):
            if token.type == tokenize.COMMENT:
                match = _IGNORE.search(token.string)
                if match:
                    comments[token.start[0]] = match.group("reason").strip(" :-\t")
    except (tokenize.TokenError, SyntaxError):
        pass  # the file parsed: a tokenizer complaint here only ends the comment search
    return comments


def _ignore(
    statement: ast.AST, call: ast.Call, comments: Mapping[int, str]
) -> tuple[str | None, int | None]:
    """The reason an ignore comment on the statement's lines gives, or the line of a comment
    that gives none."""
    first = getattr(statement, "lineno", call.lineno)
    last = call.end_lineno or call.lineno
    bare: int | None = None
    for line in range(first, last + 1):
        if line in comments:
            if comments[line]:
                return comments[line], None
            bare = line
    return None, bare
