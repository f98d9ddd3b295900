"""Read YAML safely and remember where every value was written.

The manifest and the other YAML inputs are composed with PyYAML's safe loader into a node tree,
and the Python values are built here by walking that tree. Building them ourselves is what lets
us record the line and column of every path, keep the raw text of every scalar (so an error can
say "YAML read `3.10` as the number 3.1"), reject duplicate keys and non-string keys that
``yaml.safe_load`` accepts silently, return timestamps as the text the user wrote, and stop an
alias bomb after a bounded number of nodes instead of materialising it.
"""

from __future__ import annotations

import gc
import json
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeAlias

import yaml
from yaml.constructor import SafeConstructor
from yaml.events import Event
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.resolver import BaseResolver

__all__ = [
    "DocPath",
    "Document",
    "Location",
    "PathItem",
    "SourceError",
    "format_doc_path",
    "load_yaml",
    "load_yaml_text",
]

PathItem: TypeAlias = str | int
DocPath: TypeAlias = tuple[PathItem, ...]

_YAML_TAG = "tag:yaml.org,2002:"
_STR = _YAML_TAG + "str"
_INT = _YAML_TAG + "int"
_FLOAT = _YAML_TAG + "float"
_BOOL = _YAML_TAG + "bool"
_NULL = _YAML_TAG + "null"
_TIMESTAMP = _YAML_TAG + "timestamp"
_SEQ = _YAML_TAG + "seq"
_MAP = _YAML_TAG + "map"
_MERGE = _YAML_TAG + "merge"
# The YAML 1.1 resolver gives a plain `=` this tag; it is text everywhere we read it.
_VALUE = _YAML_TAG + "value"

_TEXT_TAGS = frozenset({_STR, _VALUE, _MERGE})
_SCALAR_TAGS = frozenset({_STR, _VALUE, _MERGE, _INT, _FLOAT, _BOOL, _NULL, _TIMESTAMP})
_PLAIN_VALUES = "text, numbers, booleans, null, lists and mappings"

# Nesting this deep is never a real manifest; the limit keeps the recursive walk far below
# Python's recursion limit (aliases can nest deeper than the text, so libyaml's own limit of
# 1000 levels does not cover us).
_MAX_DEPTH = 200

# YAML 1.1's printable set (what PyYAML's reader enforces), checked here so both loaders
# report the same character at the same place.
_NON_PRINTABLE = re.compile(
    "[^\x09\x0a\x0d\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]"
)
_LINE_BREAK = re.compile("\r\n|[\r\n\x85\u2028\u2029]")
# A node's start mark sits on its anchor or tag when it has one; the scalar's text follows.
_NODE_PROPERTIES = re.compile(r"(?:[&!]\S*\s+)+")
_ANCHOR_OR_ALIAS = re.compile(r"[&*]([^\s,\[\]{}]+)")
_DOCUMENT_START = re.compile(r"^---(?=[ \t\r\n]|$)", re.MULTILINE)
_PLAIN_PATH_KEY = re.compile(r"[^\s.\[\]\"'\\]+")


@dataclass(frozen=True)
class Location:
    """A 1-based line and column in a source file."""

    line: int
    column: int


class SourceError(Exception):
    """A user's input file is wrong: names the file, line, column, path and what was expected."""

    def __init__(
        self,
        message: str,
        *,
        file: str,
        line: int | None = None,
        column: int | None = None,
        doc_path: str = "",
        expected: str = "",
    ) -> None:
        super().__init__(message)
        self.message = message
        self.file = file
        self.line = line
        self.column = column
        self.doc_path = doc_path
        self.expected = expected

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        parts = [part for part in (where, self.doc_path, self.message) if part]
        return ": ".join(parts)

    def __reduce__(
        self,
    ) -> tuple[Callable[..., SourceError], tuple[str, str, int | None, int | None, str, str]]:
        # Keyword-only arguments defeat BaseException's default pickling (xdist sends errors
        # between processes).
        return (
            _restore_source_error,
            (self.message, self.file, self.line, self.column, self.doc_path, self.expected),
        )


def _restore_source_error(
    message: str, file: str, line: int | None, column: int | None, doc_path: str, expected: str
) -> SourceError:
    return SourceError(
        message, file=file, line=line, column=column, doc_path=doc_path, expected=expected
    )


# Where a path was written, as PyYAML's 0-based marks: the value's line and column, its key's
# line and column (-1 when the path is not a mapping entry), and for a scalar the character
# span of its text (-1 otherwise). Plain ints rather than the composed nodes, so a loaded
# document does not keep the whole node tree (and two Mark objects per node) alive.
_Origin: TypeAlias = tuple[int, int, int, int, int, int]
_LINE, _COLUMN, _KEY_LINE, _KEY_COLUMN, _START, _END = range(6)


@dataclass(frozen=True)
class Document:
    """A loaded YAML file: its plain JSON-like data and where each path was written."""

    file: str
    data: object
    _origins: Mapping[DocPath, _Origin] = field(default_factory=dict, repr=False, compare=False)
    _text: str = field(default="", repr=False, compare=False)

    def paths(self) -> Iterator[DocPath]:
        """Every path written in the document, the top level ``()`` included."""
        return iter(self._origins)

    def location(self, path: Sequence[PathItem]) -> Location | None:
        """Where the value at exactly ``path`` is written, or None if the path does not exist."""
        origin = self._origins.get(tuple(path))
        return Location(origin[_LINE] + 1, origin[_COLUMN] + 1) if origin is not None else None

    def nearest_location(self, path: Sequence[PathItem]) -> Location:
        """Where ``path`` or its nearest existing ancestor is written (else the document start)."""
        current = tuple(path)
        while True:
            origin = self._origins.get(current)
            if origin is not None:
                return Location(origin[_LINE] + 1, origin[_COLUMN] + 1)
            if not current:
                return Location(1, 1)
            current = current[:-1]

    def key_location(self, path: Sequence[PathItem]) -> Location | None:
        """Where the mapping key that is the last element of ``path`` is written."""
        origin = self._origins.get(tuple(path))
        if origin is None or origin[_KEY_LINE] < 0:
            return None
        return Location(origin[_KEY_LINE] + 1, origin[_KEY_COLUMN] + 1)

    def source_text(self, path: Sequence[PathItem]) -> str | None:
        """The scalar at ``path`` exactly as written (no anchor or tag), or None if not a scalar."""
        origin = self._origins.get(tuple(path))
        if origin is None or origin[_START] < 0:
            return None
        return _scalar_source(self._text, origin[_START], origin[_END])

    def reading_note(self, path: Sequence[PathItem]) -> str | None:
        """Say how YAML read a scalar that is not text, e.g. "YAML read `3.10` as the number 3.1".

        For error messages about a value the schema wanted as a string; None when the value
        at ``path`` is text, a collection, or unknown.
        """
        text = self.source_text(path)
        if text is None:
            return None
        value = _value_at(self.data, tuple(path))
        if isinstance(value, str) or value is _MISSING:
            return None
        return f"YAML read `{text}` as {_describe_value(value)}; quote it to keep it as text"

    def error(
        self,
        path: Sequence[PathItem],
        message: str,
        *,
        expected: str = "",
        at_key: bool = False,
    ) -> SourceError:
        """Build a SourceError located at ``path`` (its key with ``at_key``, if written)."""
        where = self.key_location(path) if at_key else None
        if where is None:
            where = self.nearest_location(path)
        return SourceError(
            message,
            file=self.file,
            line=where.line,
            column=where.column,
            doc_path=format_doc_path(path) if path else "",
            expected=expected,
        )


_MISSING = object()


def _value_at(data: object, path: DocPath) -> object:
    current = data
    for item in path:
        if isinstance(current, dict):
            current = current.get(item, _MISSING) if isinstance(item, str) else _MISSING
        elif isinstance(current, list) and isinstance(item, int) and 0 <= item < len(current):
            current = current[item]
        else:
            return _MISSING
    return current


def format_doc_path(path: Sequence[PathItem]) -> str:
    """Render a path inside a document the way a reader finds it, e.g. ``tools["crm.read"][0]``."""
    if not path:
        return "(document root)"
    parts: list[str] = []
    for item in path:
        if isinstance(item, int) and not isinstance(item, bool):
            parts.append(f"[{item}]")
        elif isinstance(item, str) and _PLAIN_PATH_KEY.fullmatch(item) and item.isprintable():
            parts.append(f".{item}" if parts else item)
        else:
            parts.append(f"[{json.dumps(str(item), ensure_ascii=False)}]")
    return "".join(parts)


def load_yaml(
    path: Path,
    *,
    display: str | None = None,
    max_nodes: int = 100_000,
    max_bytes: int = 5_000_000,
) -> Document:
    """Read a UTF-8 YAML file whose top level is a mapping, safely and with locations.

    ``display`` is the name errors use (default: ``str(path)``). Raises SourceError for a
    missing or unreadable file, one over ``max_bytes``, text that is not UTF-8, and everything
    ``load_yaml_text`` rejects.
    """
    file = display if display is not None else str(path)
    try:
        with path.open("rb") as stream:
            # Read one byte past the limit rather than trusting stat(): the file may be a pipe
            # or device, or change under us.
            raw = stream.read(max_bytes + 1)
    except FileNotFoundError:
        raise SourceError("no such file", file=file, expected="a YAML file") from None
    except IsADirectoryError:
        raise SourceError("is a directory, not a file", file=file, expected="a YAML file") from None
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise SourceError(
            f"cannot read the file: {reason}", file=file, expected="a readable YAML file"
        ) from None
    if len(raw) > max_bytes:
        raise SourceError(
            f"the file is larger than {max_bytes} bytes; expected a YAML file of at most "
            f"{max_bytes} bytes",
            file=file,
            expected=f"at most {max_bytes} bytes",
        )
    return load_yaml_text(_decode(raw, file), file=file, max_nodes=max_nodes)


def _decode(raw: bytes, file: str) -> str:
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise SourceError(
            "the file is UTF-16 text (it starts with a UTF-16 byte-order mark); save it as UTF-8",
            file=file,
            line=1,
            column=1,
            expected="UTF-8 text",
        )
    nul = raw.find(b"\x00")
    if nul >= 0:
        line = raw.count(b"\n", 0, nul) + 1
        column = nul - (raw.rfind(b"\n", 0, nul) + 1) + 1
        raise SourceError(
            "the file contains NUL bytes (is it UTF-16 or binary?); save it as UTF-8 text",
            file=file,
            line=line,
            column=column,
            expected="UTF-8 text",
        )
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        # The utf-8-sig codec reports positions in the bytes after the byte-order mark, which
        # is also how editors count columns.
        data, bad = exc.object, exc.start
        line_start = data.rfind(b"\n", 0, bad) + 1
        line = data.count(b"\n", 0, bad) + 1
        column = len(data[line_start:bad].decode("utf-8", errors="replace")) + 1
        raise SourceError(
            f"the file is not UTF-8 text: byte 0x{data[bad]:02x} cannot be decoded",
            file=file,
            line=line,
            column=column,
            expected="UTF-8 text",
        ) from None


def load_yaml_text(text: str, *, file: str, max_nodes: int = 100_000) -> Document:
    """Parse YAML text whose top level is a mapping; ``file`` is the name errors use.

    Only plain values are built (text, numbers, booleans, null, lists and mappings);
    timestamps stay as the text written. Raises SourceError for syntax errors, other tags,
    duplicate or non-string keys, more than one document, an empty file, a top level that is
    not a mapping, and documents that expand (through aliases) to more than ``max_nodes`` nodes.
    """
    return _load_with(_COMPOSER, text, file=file, max_nodes=max_nodes)


class _NodeSource(Protocol):
    """The part of PyYAML's loaders (pure Python or libyaml) that composes nodes."""

    def check_node(self) -> bool: ...
    def get_node(self) -> Node | None: ...
    def peek_event(self) -> Event | None: ...
    def dispose(self) -> None: ...


class _ScalarTagMemo(BaseResolver):
    """Remembers the implicit tag of each plain scalar text met while composing one file.

    PyYAML tries a list of regular expressions for every plain scalar; a manifest repeats the
    same few words (``read``, ``write``, ``true``, tool and agent names) thousands of times.
    The tag of a plain scalar depends only on its text and the loader class's implicit
    resolvers, unless a path resolver is registered (then it also depends on where the scalar
    is, and nothing is remembered). The answer is always PyYAML's own: this only caches it.
    """

    scalar_tags: dict[str, str]

    def resolve(self, kind: type[Node], value: Any, implicit: Any) -> str:
        if kind is ScalarNode and implicit[0]:
            tag = self.scalar_tags.get(value)
            if tag is None:
                tag = self._pyyaml_resolve(kind, value, implicit)
                if not self.yaml_path_resolvers:
                    self.scalar_tags[value] = tag
            return tag
        return self._pyyaml_resolve(kind, value, implicit)

    def _pyyaml_resolve(self, kind: type[Node], value: Any, implicit: Any) -> str:
        # PyYAML's own resolver, typed (its stubs leave it untyped).
        resolve: Callable[[type[Node], Any, Any], str] = super().resolve
        return resolve(kind, value, implicit)


class _PythonLoader(_ScalarTagMemo, yaml.SafeLoader):
    """PyYAML's pure-Python safe loader with remembered scalar tags."""

    def __init__(self, stream: str) -> None:
        self.scalar_tags = {}
        super().__init__(stream)


if hasattr(yaml, "CSafeLoader"):

    class _LibyamlLoader(_ScalarTagMemo, yaml.CSafeLoader):
        """PyYAML's libyaml safe loader with remembered scalar tags."""

        def __init__(self, stream: str) -> None:
            self.scalar_tags = {}
            super().__init__(stream)

    # Pure Python first, the preferred (faster) loader last.
    _LOADERS: tuple[Callable[[str], _NodeSource], ...] = (_PythonLoader, _LibyamlLoader)
else:  # pragma: no cover - PyYAML built without libyaml
    _LOADERS = (_PythonLoader,)

# libyaml composes about four times faster than the pure-Python composer; both give the same
# marks (character indexes, 0-based lines and columns), and tests run both.
_COMPOSER: Callable[[str], _NodeSource] = _LOADERS[-1]


@contextmanager
def collector_paused() -> Iterator[None]:
    """Hold off Python's cyclic garbage collector while one file is composed and built (or,
    in the pytest face, while a run builds or reports its thousands of readiness items).

    Loading allocates a few container objects per YAML node and frees none of them until the
    end, so the collector's scans during a load find nothing to free; over a large manifest
    they were more than half of the load time. Whatever a load leaves behind is collected as
    usual afterwards. The collector is re-enabled only if it was enabled before.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _load_with(
    composer: Callable[[str], _NodeSource], text: str, *, file: str, max_nodes: int
) -> Document:
    if text.startswith("\ufeff"):
        text = text[1:]
    bad_character = _NON_PRINTABLE.search(text)
    if bad_character is not None:
        line, column = _position(text, bad_character.start())
        raise SourceError(
            f"character U+{ord(bad_character.group()):04X} is not allowed in YAML "
            "(control characters must be written as escapes inside double quotes)",
            file=file,
            line=line,
            column=column,
            expected="printable text",
        )
    with collector_paused():
        return _build(composer, text, file, max_nodes)


def _build(
    composer: Callable[[str], _NodeSource], text: str, file: str, max_nodes: int
) -> Document:
    root = _compose(composer, text, file)
    if root is None or (isinstance(root, ScalarNode) and root.tag == _NULL and not root.value):
        raise SourceError(
            "the file is empty; expected a mapping (key: value lines)",
            file=file,
            line=1,
            expected="a mapping",
        )
    builder = _Builder(text, file, max_nodes, root)
    if not isinstance(root, MappingNode):
        builder.check_tag(root, ())
        mark = root.start_mark
        raise SourceError(
            f"the document is {builder.describe(root)}; expected a mapping (key: value lines) "
            "at the top level",
            file=file,
            line=mark.line + 1,
            column=mark.column + 1,
            expected="a mapping",
        )
    data = builder.value(root, (), None)
    return Document(file=file, data=data, _origins=builder.origins, _text=text)


def _compose(composer: Callable[[str], _NodeSource], text: str, file: str) -> Node | None:
    try:
        loader = composer(text)
    except yaml.YAMLError as exc:
        raise _syntax_error(exc, text, file) from None
    try:
        if not loader.check_node():
            return None
        root = loader.get_node()
        if loader.check_node():
            line, column = _second_document_position(loader, text, root)
            raise SourceError(
                "a second YAML document starts here; expected a single document "
                "(remove the extra '---')",
                file=file,
                line=line,
                column=column,
                expected="one YAML document",
            )
        return root
    except yaml.YAMLError as exc:
        raise _syntax_error(exc, text, file) from None
    except RecursionError:
        # Only the pure-Python composer recurses per nesting level; libyaml stops at 1000.
        raise SourceError(
            "the document is nested too deeply to read",
            file=file,
            expected=f"at most {_MAX_DEPTH} levels of nesting",
        ) from None
    finally:
        loader.dispose()


def _second_document_position(
    loader: _NodeSource, text: str, first: Node | None
) -> tuple[int | None, int | None]:
    # Point at the `---` that starts the second document: libyaml's event marks sit on the
    # document's first node instead.
    after_first = first.end_mark.index if first is not None else 0
    separator = _DOCUMENT_START.search(text, after_first)
    if separator is not None:
        return _position(text, separator.start())
    event = loader.peek_event()
    mark = event.start_mark if event is not None else None
    if mark is None:
        return None, None
    return mark.line + 1, mark.column + 1


def _syntax_error(exc: yaml.YAMLError, text: str, file: str) -> SourceError:
    if not isinstance(exc, yaml.MarkedYAMLError) or exc.problem_mark is None:
        return SourceError(f"not valid YAML: {exc}", file=file, expected="valid YAML")
    mark = exc.problem_mark
    message = exc.problem or "not valid YAML"
    opened = _unclosed_quote(exc, text)
    if opened is not None:
        # The scanner fails where the run-on string finally ends (often the end of the file or
        # another line's quote); the mistake is on the line where the quote opened.
        return SourceError(
            f"the quoted string that opens here is never closed on this line: YAML read on to "
            f"line {mark.line + 1}, column {mark.column + 1} ({message}); close the quote",
            file=file,
            line=opened.line + 1,
            column=opened.column + 1,
            expected="a closing quote",
        )
    written = _ANCHOR_OR_ALIAS.match(text, mark.index)
    name = written.group(1) if written is not None else "name"
    if "undefined alias" in message:
        message = f"the alias *{name} names no anchor &{name} written before it"
    elif exc.context and "duplicate anchor" in exc.context and exc.context_mark is not None:
        first = exc.context_mark.line + 1
        message = f"the anchor &{name} is defined twice (first at line {first}); rename one"
    elif exc.context:
        context = exc.context
        start = exc.context_mark
        if start is not None and (start.line, start.column) != (mark.line, mark.column):
            context += f" that starts at line {start.line + 1}, column {start.column + 1}"
        message = f"{message} ({context})"
    at_tab = 0 <= mark.index < len(text) and text[mark.index] == "\t"
    if at_tab or "tab" in message:
        message += "; YAML does not allow tabs for indentation, use spaces"
    elif "mapping values are not allowed" in message:
        message += "; quote a value that contains ': '"
    return SourceError(
        message,
        file=file,
        line=mark.line + 1,
        column=mark.column + 1,
        expected="valid YAML",
    )


def _unclosed_quote(exc: yaml.MarkedYAMLError, text: str) -> yaml.Mark | None:
    """Where a quoted string opened that runs over line breaks up to the error, if one did.

    A quoted scalar may span lines in YAML, so this is only called for an error, and only
    blames a string that ends on the error's own line (or never ends).
    """
    mark = exc.problem_mark
    assert mark is not None
    if exc.context == "while scanning a quoted scalar" and exc.context_mark is not None:
        return exc.context_mark
    found: yaml.Mark | None = None
    try:
        for token in yaml.scan(text, Loader=yaml.SafeLoader):
            if token.start_mark.index >= mark.index:
                break
            if (
                isinstance(token, yaml.ScalarToken)
                and token.style in ('"', "'")
                and token.start_mark.line < token.end_mark.line == mark.line
            ):
                found = token.start_mark
    except yaml.YAMLError:
        pass
    return found


def _position(text: str, index: int) -> tuple[int, int]:
    """The 1-based line and column of a character index, counting YAML's line breaks."""
    line = 1
    line_start = 0
    for match in _LINE_BREAK.finditer(text, 0, index):
        line += 1
        line_start = match.end()
    return line, index - line_start + 1


def _short_tag(tag: str) -> str:
    return "!!" + tag[len(_YAML_TAG) :] if tag.startswith(_YAML_TAG) else tag


def _describe_value(value: object) -> str:
    if value is None:
        return "null (no value)"
    if isinstance(value, bool):
        return f"the boolean {value}"
    if isinstance(value, (int, float)):
        return f"the number {value!r}"
    if isinstance(value, str):
        return f"the string {_quote(value)}"
    return "a value"


def _quote(text: str) -> str:
    return repr(text if len(text) <= 60 else text[:57] + "...")


def _scalar_source(text: str, start: int, end: int) -> str:
    raw = text[start:end]
    if raw[:1] in ("&", "!"):
        raw = _NODE_PROPERTIES.sub("", raw, count=1)
    return raw


# A mapping's entries after merges: each key's (key node, value node) pair as composed.
_Pairs: TypeAlias = "dict[str, tuple[Node, Node]]"
# Tags whose scalars are used as the text written, as keys and as values.
_PLAIN_TEXT_TAGS = frozenset({_STR, _VALUE})


class _Builder:
    """Walks one composed node tree into plain values, recording where each path came from.

    Most nodes in a manifest are scalars in a mapping or a list; ``mapping`` and ``sequence``
    build those in place (same counting, checks and records as ``value``) rather than calling
    ``value`` for each, which pays for copying every location out of the nodes.
    """

    def __init__(self, text: str, file: str, max_nodes: int, root: Node) -> None:
        self.text = text
        self.file = file
        self.max_nodes = max_nodes
        self.root = root
        self.origins: dict[DocPath, _Origin] = {}
        self.nodes_built = 0
        # Collections on the path being built: meeting one again means a recursive alias.
        self.open_collections: set[int] = set()
        # Mappings' keys after merges, by node id; an alias makes one node appear many times.
        self.pairs_cache: dict[int, _Pairs] = {}
        self.pairs_open: set[int] = set()
        self.constructor = SafeConstructor()

    def fail(
        self,
        node: Node,
        path: DocPath,
        message: str,
        expected: str,
    ) -> SourceError:
        mark = node.start_mark
        return SourceError(
            message,
            file=self.file,
            line=mark.line + 1,
            column=mark.column + 1,
            doc_path=format_doc_path(path) if path else "",
            expected=expected,
        )

    def charge(self, count: int, node: Node, path: DocPath) -> None:
        """Count nodes as they are expanded, so an alias bomb stops before it is built."""
        self.nodes_built += count
        if self.nodes_built > self.max_nodes:
            raise self.too_many(node, path)

    def too_many(self, node: Node, path: DocPath) -> SourceError:
        if self._distinct_nodes() <= self.max_nodes:
            message = (
                f"the document expands to more than {self.max_nodes} nodes; YAML aliases "
                "(*name, which repeat the node marked &name) are nested too deeply"
            )
        else:
            message = f"the document has more than {self.max_nodes} nodes"
        return self.fail(node, path, message, f"at most {self.max_nodes} nodes")

    def _distinct_nodes(self) -> int:
        seen: set[int] = set()
        pending: list[Node] = [self.root]
        while pending:
            node = pending.pop()
            if id(node) in seen:
                continue
            seen.add(id(node))
            if isinstance(node, SequenceNode):
                pending.extend(node.value)
            elif isinstance(node, MappingNode):
                for key_node, value_node in node.value:
                    pending.append(key_node)
                    pending.append(value_node)
        return len(seen)

    def check_tag(self, node: Node, path: DocPath) -> None:
        tag = node.tag
        if isinstance(node, ScalarNode):
            allowed, kind = tag in _SCALAR_TAGS, "a scalar"
        elif isinstance(node, SequenceNode):
            allowed, kind = tag == _SEQ, "a list"
        else:
            allowed, kind = tag == _MAP, "a mapping"
        if allowed:
            return
        if tag in _SCALAR_TAGS or tag in (_SEQ, _MAP):
            message = f"the tag {_short_tag(tag)} cannot be used on {kind}"
        else:
            message = f"the tag {_short_tag(tag)} is not allowed; only plain YAML values are read"
        raise self.fail(node, path, message, f"plain YAML values ({_PLAIN_VALUES})")

    def describe(self, node: Node) -> str:
        if isinstance(node, SequenceNode):
            return "a list"
        if isinstance(node, MappingNode):
            return "a mapping"
        assert isinstance(node, ScalarNode)
        return _describe_value(self.scalar(node, ()))

    def scalar(self, node: ScalarNode, path: DocPath) -> object:
        tag = node.tag
        text: str = node.value
        if tag in _TEXT_TAGS:
            return text
        if tag == _TIMESTAMP:
            # Dates stay as written: the schema checks their form, and a date object would
            # neither serialise to JSON nor keep the user's spelling.
            if SafeConstructor.timestamp_regexp.match(text) is None:
                raise self.fail(
                    node, path, f"cannot read {_quote(text)} as !!timestamp", "a date or time"
                )
            return text
        self.check_tag(node, path)
        try:
            if tag == _INT:
                return self.constructor.construct_yaml_int(node)
            if tag == _FLOAT:
                return self.constructor.construct_yaml_float(node)
            if tag == _BOOL:
                return self.constructor.construct_yaml_bool(node)
            return None  # !!null, whatever its text (as PyYAML reads it)
        except (ValueError, KeyError, IndexError, TypeError):
            # Also Python's limit on digits in an int (4300), which a hostile file can hit.
            raise self.fail(
                node,
                path,
                f"cannot read {_quote(text)} as {_short_tag(tag)}; quote it if it is text",
                f"a value {_short_tag(tag)} can hold",
            ) from None

    def value(self, node: Node, path: DocPath, key_node: Node | None) -> object:
        self.nodes_built += 1
        if self.nodes_built > self.max_nodes:
            raise self.too_many(node, path)
        if len(path) > _MAX_DEPTH:
            raise self.fail(
                node,
                path,
                f"the document nests deeper than {_MAX_DEPTH} levels",
                f"at most {_MAX_DEPTH} levels of nesting",
            )
        mark = node.start_mark
        key_mark = key_node.start_mark if key_node is not None else None
        scalar = isinstance(node, ScalarNode)
        self.origins[path] = (
            mark.line,
            mark.column,
            key_mark.line if key_mark is not None else -1,
            key_mark.column if key_mark is not None else -1,
            mark.index if scalar else -1,
            node.end_mark.index if scalar else -1,
        )
        if isinstance(node, ScalarNode):
            return self.scalar(node, path)
        self.check_tag(node, path)
        node_id = id(node)
        if node_id in self.open_collections:
            raise self.fail(
                key_node or node,
                path,
                "a YAML alias repeats a node that contains it (a recursive structure)",
                "a tree without recursive aliases",
            )
        self.open_collections.add(node_id)
        try:
            if isinstance(node, SequenceNode):
                return self.sequence(node, path)
            assert isinstance(node, MappingNode)
            return self.mapping(node, path)
        finally:
            self.open_collections.discard(node_id)

    def sequence(self, node: SequenceNode, path: DocPath) -> list[object]:
        """The list's items; scalar items are built here, exactly as ``value`` would."""
        items: list[Node] = node.value
        if len(path) >= _MAX_DEPTH:  # the items are too deep: ``value`` says so
            return [self.value(item, (*path, index), None) for index, item in enumerate(items)]
        origins = self.origins
        built: list[object] = []
        # ``type(...) is`` rather than isinstance: anything unusual takes ``value``'s general path.
        for index, item in enumerate(items):
            item_path = (*path, index)
            if type(item) is not ScalarNode:
                built.append(self.value(item, item_path, None))
                continue
            self.nodes_built += 1
            if self.nodes_built > self.max_nodes:
                raise self.too_many(item, item_path)
            mark = item.start_mark
            origins[item_path] = (mark.line, mark.column, -1, -1, mark.index, item.end_mark.index)
            built.append(item.value if item.tag in _TEXT_TAGS else self.scalar(item, item_path))
        return built

    def mapping(self, node: MappingNode, path: DocPath) -> dict[str, object]:
        """The mapping's entries; scalar values are built here, exactly as ``value`` would."""
        pairs = self.pairs(node, path)
        if len(path) >= _MAX_DEPTH:  # the values are too deep: ``value`` says so
            return {key: self.value(item[1], (*path, key), item[0]) for key, item in pairs.items()}
        origins = self.origins
        built: dict[str, object] = {}
        for key, (key_node, value_node) in pairs.items():
            entry_path = (*path, key)
            if type(value_node) is not ScalarNode:
                built[key] = self.value(value_node, entry_path, key_node)
                continue
            self.nodes_built += 1
            if self.nodes_built > self.max_nodes:
                raise self.too_many(value_node, entry_path)
            mark = value_node.start_mark
            key_mark = key_node.start_mark
            origins[entry_path] = (
                mark.line,
                mark.column,
                key_mark.line,
                key_mark.column,
                mark.index,
                value_node.end_mark.index,
            )
            built[key] = (
                value_node.value
                if value_node.tag in _TEXT_TAGS
                else self.scalar(value_node, entry_path)
            )
        return built

    def pairs(self, node: MappingNode, path: DocPath) -> _Pairs:
        """The mapping's keys after merge keys (``<<``); explicit keys win over merged ones."""
        node_id = id(node)
        cached = self.pairs_cache.get(node_id)
        if cached is not None:
            return cached
        if len(self.pairs_open) > _MAX_DEPTH:
            raise self.fail(
                node,
                path,
                f"merge keys '<<' nest deeper than {_MAX_DEPTH} levels",
                f"at most {_MAX_DEPTH} levels of nesting",
            )
        if node_id in self.pairs_open:
            raise self.fail(
                node,
                path,
                "a merge key '<<' merges a mapping into itself (a recursive alias)",
                "a tree without recursive aliases",
            )
        self.pairs_open.add(node_id)
        merged: _Pairs = {}
        own: _Pairs = {}
        merge_key: Node | None = None
        entry: tuple[Node, Node]
        for entry in node.value:
            key_node = entry[0]
            self.nodes_built += 1
            if self.nodes_built > self.max_nodes:
                raise self.too_many(key_node, path)
            if type(key_node) is ScalarNode and key_node.tag in _PLAIN_TEXT_TAGS:
                key: str = key_node.value
            elif not isinstance(key_node, ScalarNode):
                raise self.fail(
                    key_node,
                    path,
                    f"a key is {self.describe(key_node)}; keys must be text",
                    "a text key",
                )
            elif key_node.tag == _MERGE:
                if merge_key is not None:
                    raise self.fail(
                        key_node,
                        (*path, "<<"),
                        f"duplicate key '<<' (first at line {merge_key.start_mark.line + 1}); "
                        "list several mappings in one merge key instead: <<: [*a, *b]",
                        "each key once in a mapping",
                    )
                merge_key = key_node
                self._merge_into(merged, entry[1], (*path, "<<"))
                continue
            else:
                key = self.key(key_node, path)
            first = own.get(key)
            if first is not None:
                raise self.fail(
                    key_node,
                    (*path, key),
                    f"duplicate key {_quote(key)} (first at line {first[0].start_mark.line + 1})",
                    "each key once in a mapping",
                )
            own[key] = entry
        if merge_key is None:
            merged = own
        else:
            merged.update(own)
        self.pairs_open.discard(node_id)
        self.pairs_cache[node_id] = merged
        return merged

    def _merge_into(self, merged: _Pairs, value_node: Node, path: DocPath) -> None:
        if isinstance(value_node, MappingNode):
            sources: list[Node] = [value_node]
        elif isinstance(value_node, SequenceNode):
            sources = list(value_node.value)
        else:
            sources = [value_node]
        # In `<<: [*a, *b]` the earlier mapping wins, so apply them last-first.
        for source in reversed(sources):
            if not isinstance(source, MappingNode):
                raise self.fail(
                    source,
                    path,
                    f"a merge key '<<' takes a mapping or a list of mappings (such as *defaults), "
                    f"not {self.describe(source)}",
                    "a mapping to merge",
                )
            self.check_tag(source, path)
            source_pairs = self.pairs(source, path)
            # Merging copies keys; charging them keeps merge chains from multiplying work.
            self.charge(len(source_pairs), source, path)
            merged.update(source_pairs)

    def key(self, node: ScalarNode, path: DocPath) -> str:
        tag = node.tag
        if tag in _TEXT_TAGS:
            return str(node.value)
        self.check_tag(node, path)
        read_as = self.scalar(node, path)
        if isinstance(read_as, str):  # a timestamp, kept as written
            return read_as
        written = _scalar_source(self.text, node.start_mark.index, node.end_mark.index)
        if not written:
            message = "a key is missing before ':'"
        else:
            message = (
                f"key {_quote(written)} is read by YAML as {_describe_value(read_as)}; quote it"
            )
        raise self.fail(node, (*path, written) if written else path, message, "a text key")
