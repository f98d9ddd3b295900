"""README reference sections generated from the schema and the catalogue, and the built-in
adversarial suites' index, so they stay true.

``python -m pytest_agent_readiness.reference README.md`` rewrites the marked sections and the
index; the test suite fails when they drift.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from .catalogue import BUILTIN_CHECKS
from .manifest import manifest_schema

SECTIONS = ("manifest-reference", "check-catalogue")


def _resolve(node: Mapping[str, Any], schema: Mapping[str, Any]) -> Mapping[str, Any]:
    while "$ref" in node:
        name = str(node["$ref"]).rsplit("/", 1)[-1]
        merged = {**schema["$defs"][name], **{k: v for k, v in node.items() if k != "$ref"}}
        node = merged
    return node


def _kind(node: Mapping[str, Any], schema: Mapping[str, Any]) -> str:
    node = _resolve(node, schema)
    if "enum" in node:
        return " \\| ".join(f"`{value}`" for value in node["enum"])
    if "const" in node:
        return f"`{node['const']}`"
    if "oneOf" in node:
        return " or ".join(_kind(option, schema) for option in node["oneOf"])
    kind = node.get("type", "any")
    if kind == "array":
        return f"list of {_kind(node.get('items', {}), schema)}"
    if kind == "string" and node.get("format") == "date":
        return "date"
    return str(kind).replace("object", "mapping")


def _rows(
    node: Mapping[str, Any], schema: Mapping[str, Any], prefix: str
) -> Iterator[tuple[str, str, str]]:
    node = _resolve(node, schema)
    if node.get("type") == "array":
        items = _resolve(node.get("items", {}), schema)
        if items.get("type") == "object":
            yield from _rows(items, schema, f"{prefix}[]")
        return
    required = set(node.get("required", ()))
    for key, child in node.get("properties", {}).items():
        path = f"{prefix}.{key}" if prefix else key
        resolved = _resolve(child, schema)
        note = str(resolved.get("description", ""))
        if key in required:
            note = f"**required.** {note}".strip()
        yield path, _kind(child, schema), note
        yield from _rows(child, schema, path)
    extra = node.get("additionalProperties")
    if isinstance(extra, dict):
        placeholder = "NAME" if prefix.endswith("agents") else "KEY"
        yield from _rows(extra, schema, f"{prefix}.{placeholder}")


def render_manifest_reference() -> str:
    """Every key of agent-readiness.yaml with its type and meaning, as a Markdown table."""
    schema = manifest_schema()
    lines = ["| key | type | meaning |", "| --- | --- | --- |"]
    rows = _rows(schema, schema, "")
    lines.extend(f"| `{path}` | {kind} | {note} |" for path, kind, note in rows)
    return "\n".join(lines) + "\n"


def render_check_catalogue() -> str:
    """The built-in checks as a Markdown table."""
    lines = [
        "| id | dimension | check | severity | full marks at | from stage | remediation |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for check in sorted(BUILTIN_CHECKS, key=lambda c: c.id):
        lines.append(
            f"| {check.id} | {check.dimension} | {check.title} | {check.severity} | "
            f"{check.full_level} | {check.min_stage} | {check.remediation} |"
        )
    return "\n".join(lines) + "\n"


RENDERERS = {
    "manifest-reference": render_manifest_reference,
    "check-catalogue": render_check_catalogue,
}


def section_pattern(name: str) -> re.Pattern[str]:
    """The marked block named ``name`` in a Markdown file."""
    return re.compile(rf"(<!-- BEGIN {name} -->\n)(.*?)(<!-- END {name} -->)", re.DOTALL)


def update(text: str) -> str:
    """``text`` with every generated section rewritten."""
    for name in SECTIONS:
        body = RENDERERS[name]()

        def fill(match: re.Match[str], body: str = body) -> str:
            return match.group(1) + body + match.group(3)

        text = section_pattern(name).sub(fill, text)
    return text


def write_suite_index() -> Path:
    """Rewrite ``adversarial/suites/index.json`` from the built-in suites; return its path."""
    from .adversarial import builtin_index_text, load_builtin_suites

    path = Path(__file__).parent / "adversarial" / "suites" / "index.json"
    path.write_text(builtin_index_text(load_builtin_suites()), encoding="utf-8")
    return path


def main(argv: list[str] | None = None) -> int:
    """Rewrite the built-in suites' index and the generated sections of the files named in
    ``argv``."""
    write_suite_index()
    for name in argv if argv is not None else sys.argv[1:]:
        path = Path(name)
        path.write_text(update(path.read_text(encoding="utf-8")), encoding="utf-8")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
