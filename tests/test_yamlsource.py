"""Tests for the safe, location-keeping YAML loader."""

from __future__ import annotations

import contextlib
import datetime
import gc
import json
import math
import pickle
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from pytest_agent_readiness.yamlsource import (
    _LOADERS,
    Document,
    Location,
    SourceError,
    _load_with,
    format_doc_path,
    load_yaml,
    load_yaml_text,
)

Composer = Callable[[str], Any]

# The loaders the module uses (PyYAML's pure-Python and libyaml safe loaders, each with
# remembered scalar tags), paired with PyYAML's own loader of the same kind.
PYYAML_LOADERS: dict[str, Any] = {"pure-python": yaml.SafeLoader}
if hasattr(yaml, "CSafeLoader"):
    PYYAML_LOADERS["libyaml"] = yaml.CSafeLoader
assert len(_LOADERS) == len(PYYAML_LOADERS)
COMPOSERS = [
    pytest.param(loader, id=name) for name, loader in zip(PYYAML_LOADERS, _LOADERS, strict=True)
]
LOADER_PAIRS = [
    pytest.param(ours, theirs, id=name)
    for (name, theirs), ours in zip(PYYAML_LOADERS.items(), _LOADERS, strict=True)
]


@pytest.fixture(params=COMPOSERS)
def composer(request: pytest.FixtureRequest) -> Composer:
    """Both composers the module uses: the loader must give the same answers with either."""
    chosen: Composer = request.param
    return chosen


def load(composer: Composer, text: str, *, max_nodes: int = 100_000) -> Document:
    return _load_with(composer, text, file="agent-readiness.yaml", max_nodes=max_nodes)


def load_error(composer: Composer, text: str, *, max_nodes: int = 100_000) -> SourceError:
    with pytest.raises(SourceError) as caught:
        load(composer, text, max_nodes=max_nodes)
    return caught.value


def dates_as_text(value: object) -> object:
    """yaml.safe_load's result with dates written as text, as our loader keeps them."""
    if isinstance(value, datetime.date) and not isinstance(value, datetime.datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {key: dates_as_text(item) for key, item in value.items()}
    if isinstance(value, list):
        return [dates_as_text(item) for item in value]
    return value


DESIGN_MANIFEST = """\
version: 1
project: support-automation
gate: {min_total: 14, min_dimension: 3}        # the article's defaults
agents:
  triage-bot:
    owner: {name: Dana Reyes, email: dana.reyes@example.com}
    stage: stabilization                        # pilot | stabilization | scaling | optimization
    adapter: triage_bot
    decisions:
      autonomous: [classify_ticket, reply_with_faq]
      human_approval: [issue_refund, close_account]
    escalation:
      tool_error: {owner: oncall-support@example.com}
      budget_exceeded: {owner: dana.reyes@example.com}
    tools:
      crm.read_ticket: {access: read}
      crm.issue_refund: {access: write, approval: required}
    permissions_reviewed: 2026-10-01            # quarterly audit
    kill_switch:
      mechanism: env
      target: TRIAGE_BOT_DISABLED
      halt_within_s: 5
      operators: [support-leads@example.com]
    budgets:
      tokens_per_session: 20000
      cost_usd_per_day: 50
    tracing: {required: true}
    alerts:
      - {signal: failed_tool_calls, threshold: 5, window: 10m, action: suspend}
      - {signal: policy_violations, threshold: 1, window: 1h, action: suspend}
    prompts:
      - {path: prompts/triage.md, version: 3.2.0, rollback_to: 3.1.0}
    adversarial:
      suites: [prompt_injection, jailbreak]
      min_pass_rate: 1.0
    data_quality:
      drift: {metric: psi, threshold: 0.2, action: alert}
      input_validation: true
waivers:
  - {check: DQ-002, agent: triage-bot, reason: "...", approved_by: Dana Reyes, expires: 2026-12-31}
"""

ROUND_TRIP = {
    "design manifest": DESIGN_MANIFEST,
    "anchors, aliases and merges": """\
defaults: &defaults {access: read, approval: none}
extra: &extra
  decision: refunds
  description: replaced by the explicit key
tools:
  plain: *defaults
  overridden: {<<: *defaults, access: write}
  merged_list:
    <<: [*extra, *defaults]
    description: explicit keys win
  nested_merge: {<<: {<<: *defaults, added: 2026-01-02}}
list: &numbers [1, 2, 3]
again: *numbers
scalar: &word hello
scalar_again: *word
""",
    "scalars of every core type": """\
ints: [0, -7, +3, 1_000, 0x1F, 017, 0b101, 1:30, 0o17]
floats: [1.5, -0.25, 6.8523015e+5, 3.10, .5, 1e3, 190:20:30.15]
bools: [yes, No, on, OFF, true, False, y, n]
nulls: [~, null, Null, '', ""]
empty:
strings: ['it''s', "tab\\tand\\u00e9", 'quoted 3.10', "no", plain words here]
folded plain: this text
  goes on over
  three lines
literal: |
  line one
   indented
folded: >-
  a
  b
kept: |+
  end

stripped: |-
  end
""",
    "flow and nesting": """\
{a: [1, {b: [2, 3]}], "quoted key": x, 'single': y, "a.b": 1, "": empty key,
 deep: [[[[[1]]]]], "with: colon": ok}
""",
    "explicit core tags": """\
text: !!str 3.10
number: !!int "42"
float: !!float 1
flag: !!bool "true"
nothing: !!null ""
nonspecific: ! 12
date_text: !!str 2026-10-01
list: !!seq [a]
map: !!map {a: 1}
""",
    "document markers and comments": """\
# leading comment
---
a: 1   # trailing
# between
b:
  - x  # in a list
...
""",
    "windows line endings": "a: 1\r\nb:\r\n  - x\r\n  - y\r\nc: {d: e}\r\n",
    "unicode": "ключ: значение\nemoji: 😀\n'ä.ö': [é, ü]\n",
    "dates in lists and keys-as-text": "when: [2026-10-01, 2001-02-03]\n'2026-10-01': quoted\n",
}


@pytest.mark.parametrize("text", ROUND_TRIP.values(), ids=ROUND_TRIP.keys())
def test_ordinary_documents_load_like_safe_load(composer: Composer, text: str) -> None:
    document = load(composer, text)
    assert document.data == dates_as_text(yaml.safe_load(text))


def test_design_manifest_is_json_serialisable_with_dates_as_written() -> None:
    document = load_yaml_text(DESIGN_MANIFEST, file="agent-readiness.yaml")
    assert isinstance(document.data, dict)
    json.dumps(document.data, allow_nan=False)
    agent = document.data["agents"]["triage-bot"]
    assert agent["permissions_reviewed"] == "2026-10-01"
    assert document.data["waivers"][0]["expires"] == "2026-12-31"


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("2026-10-01", "2026-10-01"),
        ("2001-12-14t21:59:43.10-05:00", "2001-12-14t21:59:43.10-05:00"),
        ("2001-12-14 21:59:43.10 -5", "2001-12-14 21:59:43.10 -5"),
        ("2002-12-14T00:00:00Z", "2002-12-14T00:00:00Z"),
        ("!!timestamp 2026-10-01", "2026-10-01"),
    ],
)
def test_timestamps_stay_as_the_text_written(
    composer: Composer, written: str, expected: str
) -> None:
    document = load(composer, f"at: {written}\n")
    assert document.data == {"at": expected}


def test_earlier_mappings_in_a_merge_list_win(composer: Composer) -> None:
    # The merge-key spec: "keys in mapping nodes earlier in the sequence override keys
    # specified in later mapping nodes". PyYAML 6.0.4 gets this backwards for keys longer than
    # one character (yaml/pyyaml#953), so this case is checked against the spec, not safe_load.
    text = (
        "a: &a {access: admin, x: 1}\nb: &b {access: read, approval: none, x: 2}\n"
        "tool: {<<: [*a, *b], x: 3}\n"
    )
    tool = {"access": "admin", "approval": "none", "x": 3}
    assert load(composer, text).data == {
        "a": {"access": "admin", "x": 1},
        "b": {"access": "read", "approval": "none", "x": 2},
        "tool": tool,
    }


def test_infinities_and_nan_are_floats(composer: Composer) -> None:
    document = load(composer, "a: .inf\nb: -.Inf\nc: .NaN\n")
    assert isinstance(document.data, dict)
    assert document.data["a"] == math.inf
    assert document.data["b"] == -math.inf
    assert math.isnan(document.data["c"])


def test_equals_sign_and_merge_marker_are_text_as_values(composer: Composer) -> None:
    # yaml.safe_load cannot even read `b: =`; a lone `=` or `<<` value is just text.
    document = load(composer, "=: x\nb: =\nc: <<\n")
    assert document.data == {"=": "x", "b": "=", "c": "<<"}


LAYOUT = """\
version: 1
project: "support automation"
agents:
  triage-bot:
    owner: {name: Dana Reyes, email: dana@example.com}
    stage: stabilization
    tools:
      crm.read:
        access: read
      crm.refund: {access: write, approval: required}
    decisions:
      autonomous:
        - classify_ticket
        - reply_with_faq
      human_approval: [issue_refund, close_account]
    budgets:
      tokens_per_session: 20000
    kill_switch:
    alerts:
      -
        signal: failed_tool_calls
      - - nested
"""

BOT = ("agents", "triage-bot")


@pytest.mark.parametrize(
    ("path", "value_at", "key_at"),
    [
        ((), (1, 1), None),
        (("version",), (1, 10), (1, 1)),
        (("project",), (2, 10), (2, 1)),
        (("agents",), (4, 3), (3, 1)),
        (BOT, (5, 5), (4, 3)),
        ((*BOT, "owner"), (5, 12), (5, 5)),
        ((*BOT, "owner", "name"), (5, 19), (5, 13)),
        ((*BOT, "owner", "email"), (5, 38), (5, 31)),
        ((*BOT, "stage"), (6, 12), (6, 5)),
        ((*BOT, "tools"), (8, 7), (7, 5)),
        ((*BOT, "tools", "crm.read"), (9, 9), (8, 7)),
        ((*BOT, "tools", "crm.read", "access"), (9, 17), (9, 9)),
        ((*BOT, "tools", "crm.refund", "access"), (10, 28), (10, 20)),
        ((*BOT, "tools", "crm.refund", "approval"), (10, 45), (10, 35)),
        ((*BOT, "decisions", "autonomous"), (13, 9), (12, 7)),
        ((*BOT, "decisions", "autonomous", 0), (13, 11), None),
        ((*BOT, "decisions", "autonomous", 1), (14, 11), None),
        ((*BOT, "decisions", "human_approval", 1), (15, 38), None),
        ((*BOT, "budgets", "tokens_per_session"), (17, 27), (17, 7)),
        ((*BOT, "kill_switch"), (18, 17), (18, 5)),
        ((*BOT, "alerts"), (20, 7), (19, 5)),
        ((*BOT, "alerts", 0), (21, 9), None),
        ((*BOT, "alerts", 0, "signal"), (21, 17), (21, 9)),
        ((*BOT, "alerts", 1), (22, 9), None),
        ((*BOT, "alerts", 1, 0), (22, 11), None),
    ],
    ids=format_doc_path,
)
def test_every_path_knows_where_it_was_written(
    composer: Composer,
    path: tuple[str | int, ...],
    value_at: tuple[int, int],
    key_at: tuple[int, int] | None,
) -> None:
    document = load(composer, LAYOUT)
    assert document.location(path) == Location(*value_at)
    assert document.key_location(path) == (Location(*key_at) if key_at else None)


@pytest.mark.parametrize(
    ("text", "path", "value_at", "key_at"),
    [
        # A merged key is located where the anchored mapping writes it; an explicit one wins.
        (
            "defaults: &d\n  access: read\n  approval: none\ntools:\n  a:\n    <<: *d\n"
            "    access: write\n",
            ("tools", "a", "approval"),
            (3, 13),
            (3, 3),
        ),
        (
            "defaults: &d\n  access: read\n  approval: none\ntools:\n  a:\n    <<: *d\n"
            "    access: write\n",
            ("tools", "a", "access"),
            (7, 13),
            (7, 5),
        ),
        # An alias's value is written where its anchor is; its key is where it is used.
        ("x: &v 5\ny: *v\n", ("y",), (1, 4), (2, 1)),
        ("a: 1\r\nb:\r\n  c: x\r\n", ("b", "c"), (3, 6), (3, 3)),
        ("é: ü\nb: [ä, 😀, z]\n", ("b", 2), (2, 11), None),
        ("\ufeffa: 1\n", ("a",), (1, 4), (1, 1)),
        ("# comment\n\n---\nkey:   value\n", ("key",), (4, 8), (4, 1)),
        ("text: |\n  one\n  two\n", ("text",), (1, 7), (1, 1)),
    ],
)
def test_locations_across_aliases_merges_and_encodings(
    composer: Composer,
    text: str,
    path: tuple[str | int, ...],
    value_at: tuple[int, int],
    key_at: tuple[int, int] | None,
) -> None:
    document = load(composer, text)
    assert document.location(path) == Location(*value_at)
    assert document.key_location(path) == (Location(*key_at) if key_at else None)


@pytest.mark.parametrize(
    ("path", "nearest"),
    [
        ((*BOT, "tools", "crm.read", "approval"), (9, 9)),
        ((*BOT, "alerts", 5, "signal"), (20, 7)),
        (("missing", "deeper"), (1, 1)),
    ],
)
def test_nearest_location_walks_up_to_an_existing_path(
    path: tuple[str | int, ...], nearest: tuple[int, int]
) -> None:
    document = load_yaml_text(LAYOUT, file="agent-readiness.yaml")
    assert document.location(path) is None
    assert document.nearest_location(path) == Location(*nearest)
    assert document.nearest_location((*BOT, "stage")) == document.location((*BOT, "stage"))


def test_a_document_built_without_a_source_has_no_locations() -> None:
    document = Document(file="scorecard.json", data={"a": 1})
    assert document.location(("a",)) is None
    assert document.key_location(("a",)) is None
    assert document.source_text(("a",)) is None
    assert document.nearest_location(("a",)) == Location(1, 1)


@pytest.mark.parametrize(
    ("text", "path", "source"),
    [
        ("version: 3.10\n", ("version",), "3.10"),
        ("approval: no\n", ("approval",), "no"),
        ("added: 2026-10-01\n", ("added",), "2026-10-01"),
        ("count: 0x1F\n", ("count",), "0x1F"),
        ("name: 'quoted'\n", ("name",), "'quoted'"),
        ('name: "dq \\t"\n', ("name",), '"dq \\t"'),
        ("a: &anchor 5\nb: *anchor\n", ("b",), "5"),
        ("a: !!str 1\n", ("a",), "1"),
        ("a: &x !!str 1\n", ("a",), "1"),
        ("list: [1, yes, ~]\n", ("list", 1), "yes"),
        ("empty:\n", ("empty",), ""),
        ("text: |\n  one\n", ("text",), "|\n  one\n"),
        ("a: {b: 1}\n", ("a",), None),
        ("a: [1]\n", ("a",), None),
        ("a: 1\n", ("b",), None),
    ],
)
def test_source_text_is_the_scalar_as_written(
    composer: Composer, text: str, path: tuple[str | int, ...], source: str | None
) -> None:
    assert load(composer, text).source_text(path) == source


@pytest.mark.parametrize(
    ("text", "note"),
    [
        ("v: 3.10\n", "YAML read `3.10` as the number 3.1; quote it to keep it as text"),
        ("v: no\n", "YAML read `no` as the boolean False; quote it to keep it as text"),
        ("v: 0x1F\n", "YAML read `0x1F` as the number 31; quote it to keep it as text"),
        ("v: ~\n", "YAML read `~` as null (no value); quote it to keep it as text"),
        ("v: '3.10'\n", None),
        ("v: 2026-10-01\n", None),
        ("v: [1]\n", None),
    ],
)
def test_reading_note_explains_what_yaml_made_of_a_scalar(text: str, note: str | None) -> None:
    assert load_yaml_text(text, file="m.yaml").reading_note(("v",)) == note


@pytest.mark.parametrize(
    ("path", "rendered"),
    [
        ((), "(document root)"),
        (("agents",), "agents"),
        (
            ("agents", "triage-bot", "tools", "crm.read", 0),
            'agents.triage-bot.tools["crm.read"][0]',
        ),
        (("waivers", 2, "expires"), "waivers[2].expires"),
        (("a b",), '["a b"]'),
        (("x", "a[0]"), 'x["a[0]"]'),
        (("x", 'say "hi"'), 'x["say \\"hi\\""]'),
        (("x", "it's"), 'x["it\'s"]'),
        (("x", ""), 'x[""]'),
        (("x", "line\nbreak"), 'x["line\\nbreak"]'),
        (("x", "back\\slash"), 'x["back\\\\slash"]'),
        (("ключ", "ä"), "ключ.ä"),
        ((0, 1), "[0][1]"),
    ],
)
def test_format_doc_path(path: tuple[str | int, ...], rendered: str) -> None:
    assert format_doc_path(path) == rendered


SYNTAX_AND_STRUCTURE_ERRORS = [
    # (text, line, column, fragment of the message, doc_path)
    ("", 1, None, "the file is empty; expected a mapping", ""),
    ("# only a comment\n\n", 1, None, "the file is empty; expected a mapping", ""),
    ("---\n", 1, None, "the file is empty", ""),
    ("- a\n- b\n", 1, 1, "the document is a list; expected a mapping", ""),
    ("just text\n", 1, 1, "the document is the string 'just text'; expected a mapping", ""),
    ("\n\n42\n", 3, 1, "the document is the number 42", ""),
    ("null\n", 1, 1, "the document is null", ""),
    ("a: 1\n---\nb: 2\n", 2, 1, "a second YAML document starts here", ""),
    ("---\na: 1\n---\n", 3, 1, "a second YAML document starts here", ""),
    # Duplicate keys, in block and flow mappings, at any depth.
    (
        "agents:\n  bot:\n    owner: a@example.com\n    stage: pilot\n    owner: b@example.com\n",
        5,
        5,
        "duplicate key 'owner' (first at line 3)",
        "agents.bot.owner",
    ),
    ("a: {x: 1, x: 2}\n", 1, 11, "duplicate key 'x' (first at line 1)", "a.x"),
    (
        "version: 1\nagents: {}\nversion: 2\n",
        3,
        1,
        "duplicate key 'version' (first at line 1)",
        "version",
    ),
    ("x: [{a: 1,\n  a: 2}]\n", 2, 3, "duplicate key 'a' (first at line 1)", "x[0].a"),
    ("<<: {a: 1}\n<<: {b: 2}\n", 2, 1, "duplicate key '<<' (first at line 1)", "<<"),
    # Keys YAML reads as something other than text.
    ("on: push\n", 1, 1, "key 'on' is read by YAML as the boolean True; quote it", "on"),
    ("a:\n  yes: 1\n", 2, 3, "key 'yes' is read by YAML as the boolean True", "a.yes"),
    ("a:\n  off: 1\n", 2, 3, "key 'off' is read by YAML as the boolean False", "a.off"),
    ("1: x\n", 1, 1, "key '1' is read by YAML as the number 1; quote it", "1"),
    ("0x1F: x\n", 1, 1, "key '0x1F' is read by YAML as the number 31", "0x1F"),
    ("3.10: x\n", 1, 1, "key '3.10' is read by YAML as the number 3.1", '["3.10"]'),
    ("~: x\n", 1, 1, "key '~' is read by YAML as null (no value)", "~"),
    ("a: {null: x}\n", 1, 5, "key 'null' is read by YAML as null", "a.null"),
    ("? [a, b]\n: x\n", 1, 3, "a key is a list; keys must be text", ""),
    ("? {a: 1}\n: x\n", 1, 3, "a key is a mapping; keys must be text", ""),
    # Tags outside YAML's plain values.
    (
        "a: !!python/object:os.system x\n",
        1,
        4,
        "the tag !!python/object:os.system is not allowed",
        "a",
    ),
    (
        "!!python/object/apply:os.system [ls]\n",
        1,
        1,
        "the tag !!python/object/apply:os.system is not allowed",
        "",
    ),
    ("a:\n  b: !!python/name:os.system ''\n", 2, 6, "!!python/name:os.system", "a.b"),
    ("x: !!python/tuple [1, 2]\n", 1, 4, "the tag !!python/tuple is not allowed", "x"),
    ("a: !!binary aGVsbG8=\n", 1, 4, "the tag !!binary is not allowed", "a"),
    ("a: !!set {x}\n", 1, 4, "the tag !!set is not allowed", "a"),
    ("a: !!omap [{x: 1}]\n", 1, 4, "the tag !!omap is not allowed", "a"),
    ("a: !!pairs [{x: 1}]\n", 1, 4, "the tag !!pairs is not allowed", "a"),
    ("a: !local x\n", 1, 4, "the tag !local is not allowed", "a"),
    ("a: !<tag:example.com,2000:t> x\n", 1, 4, "tag:example.com,2000:t is not allowed", "a"),
    ("a: [x, !!python/object:os.system y]\n", 1, 8, "is not allowed", "a[1]"),
    ("!!python/object:os.system x: 1\n", 1, 1, "is not allowed", ""),
    ("a: !!str [1]\n", 1, 4, "the tag !!str cannot be used on a list", "a"),
    ("a: !!map x\n", 1, 4, "the tag !!map cannot be used on a scalar", "a"),
    ("a: !!seq {b: 1}\n", 1, 4, "the tag !!seq cannot be used on a mapping", "a"),
    ("a: !!int abc\n", 1, 4, "cannot read 'abc' as !!int; quote it", "a"),
    ("a: !!int ''\n", 1, 4, "cannot read '' as !!int", "a"),
    ("a: !!bool maybe\n", 1, 4, "cannot read 'maybe' as !!bool", "a"),
    ("a: !!float x\n", 1, 4, "cannot read 'x' as !!float", "a"),
    ("a: !!timestamp soon\n", 1, 4, "cannot read 'soon' as !!timestamp", "a"),
    ("a: " + "9" * 5000 + "\n", 1, 4, "as !!int; quote it", "a"),
    # Merge keys that merge something other than mappings, or themselves.
    ("a: {<<: 1}\n", 1, 9, "a merge key '<<' takes a mapping or a list of mappings", "a.<<"),
    ("a: {<<: [1]}\n", 1, 10, "not the number 1", "a.<<"),
    ("m: &m {b: 1}\nc: {<<: [*m, x]}\n", 2, 14, "not the string 'x'", "c.<<"),
    ("a:\n  <<:\n  b: 1\n", 2, 6, "not null", "a.<<"),
    ("a: &x {b: 1, <<: *x}\n", 1, 4, "merges a mapping into itself", "a.<<"),
    # Aliases: recursive, undefined, anchors defined twice.
    ("a: &x [1, *x]\n", 1, 4, "a YAML alias repeats a node that contains it", "a[1]"),
    ("a: &x {b: *x}\n", 1, 8, "a YAML alias repeats a node that contains it", "a.b"),
    ("a: *nothing\n", 1, 4, "the alias *nothing names no anchor &nothing", ""),
    ("a: &x 1\nb: &x 2\n", 2, 4, "the anchor &x is defined twice (first at line 1)", ""),
    # Characters YAML does not allow.
    ("a: b\x07c\n", 1, 5, "character U+0007 is not allowed", ""),
    ("a: 1\nb: \x00\n", 2, 4, "character U+0000 is not allowed", ""),
    ("a: 1\r\nb: 'x\x1by'\r\n", 2, 6, "character U+001B is not allowed", ""),
    # Syntax errors keep PyYAML's position and explanation.
    ("a:\n\tb: 1\n", 2, 1, "YAML does not allow tabs for indentation, use spaces", ""),
    ("a: 1\n\tb: 2\n", 2, 1, "YAML does not allow tabs for indentation, use spaces", ""),
    # An unclosed quote is reported where it opened, not where YAML gave up reading.
    (
        "a: 'unclosed\nb: 2\n",
        1,
        4,
        "the quoted string that opens here is never closed on this line: YAML read on to "
        "line 3, column 1 (found unexpected end of stream); close the quote",
        "",
    ),
    ('a: "unclosed\n', 1, 4, "never closed on this line", ""),
    (
        'a:\n  b: 1\n  c: "run on\n  d: 2\n  e: {f: "x", g: 1}\n',
        3,
        6,
        "never closed on this line: YAML read on to line 5",
        "",
    ),
    ("a:\n  b: 1\n c: 2\n", 3, 2, "while parsing a block mapping that starts at line 1", ""),
    ("a: [1, 2\nb: 3\n", 2, 2, "while parsing a flow sequence that starts at line 1, col", ""),
    ("a: b: c\n", 1, 5, "mapping values are not allowed", ""),
    ("a: b: c\n", 1, 5, "quote a value that contains ': '", ""),
    ("a: {b: 1\n", 2, 1, "while parsing a flow mapping that starts at line 1, column 4", ""),
]


@pytest.mark.parametrize(
    ("text", "line", "column", "fragment", "doc_path"),
    SYNTAX_AND_STRUCTURE_ERRORS,
    ids=[repr(case[0][:40]) for case in SYNTAX_AND_STRUCTURE_ERRORS],
)
def test_hostile_documents_fail_with_file_line_and_path(
    composer: Composer,
    text: str,
    line: int,
    column: int | None,
    fragment: str,
    doc_path: str,
) -> None:
    error = load_error(composer, text)
    assert (error.file, error.line, error.column) == ("agent-readiness.yaml", line, column)
    assert fragment in error.message
    assert error.doc_path == doc_path
    assert error.expected
    where = f"agent-readiness.yaml:{line}" + (f":{column}" if column else "")
    assert str(error).startswith(where + ": ")
    assert error.message in str(error)


def billion_laughs(levels: int, width: int) -> str:
    lines = ['lol0: &lol0 "lol"']
    for level in range(1, levels + 1):
        items = ", ".join([f"*lol{level - 1}"] * width)
        lines.append(f"lol{level}: &lol{level} [{items}]")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(("levels", "width"), [(9, 9), (12, 10), (40, 2)])
def test_alias_bombs_stop_at_the_node_limit(composer: Composer, levels: int, width: int) -> None:
    # 10**12 nodes if expanded: finishing at all shows the expansion is never built.
    error = load_error(composer, billion_laughs(levels, width))
    assert error.message == (
        "the document expands to more than 100000 nodes; YAML aliases "
        "(*name, which repeat the node marked &name) are nested too deeply"
    )
    assert error.line is not None
    assert error.doc_path.startswith("lol")


def test_node_limit_is_exact_and_names_a_plainly_large_file(composer: Composer) -> None:
    text = "a: [1, 2]\n"  # the mapping, its key, the list and two items
    assert load(composer, text, max_nodes=5).data == {"a": [1, 2]}
    error = load_error(composer, text, max_nodes=4)
    assert error.message == "the document has more than 4 nodes"
    assert (error.line, error.doc_path) == (1, "a[1]")


def test_node_limit_counts_aliased_nodes_each_time_they_appear(composer: Composer) -> None:
    text = "a: &x [1, 2]\nb: *x\n"
    assert load(composer, text, max_nodes=9).data == {"a": [1, 2], "b": [1, 2]}
    error = load_error(composer, text, max_nodes=8)
    assert error.message.startswith("the document expands to more than 8 nodes; YAML aliases")


def test_merge_chains_are_charged_so_wide_merges_cannot_multiply_work(
    composer: Composer,
) -> None:
    lines = ["m0: &m0 {" + ", ".join(f"k{i}: {i}" for i in range(50)) + "}"]
    for level in range(1, 30):
        sources = ", ".join([f"*m{level - 1}"] * 50)
        lines.append(f"m{level}: &m{level} {{<<: [{sources}]}}")
    error = load_error(composer, "\n".join(lines) + "\n", max_nodes=20_000)
    assert "expands to more than 20000 nodes" in error.message


def test_ordinary_anchor_use_is_unaffected_by_the_limit(composer: Composer) -> None:
    text = billion_laughs(3, 3)
    document = load(composer, text)
    assert document.data == yaml.safe_load(text)


def test_aliases_cannot_nest_deeper_than_the_limit(composer: Composer) -> None:
    lines = ["l0: &l0 [x]"] + [f"l{i}: &l{i} [*l{i - 1}]" for i in range(1, 300)]
    error = load_error(composer, "\n".join(lines) + "\n")
    assert "nests deeper than 200 levels" in error.message


def test_merge_chains_load_like_safe_load(composer: Composer) -> None:
    lines = ["m0: &m0 {k: 0}"] + [
        f"m{i}: &m{i} {{<<: *m{i - 1}, k{i}: {i}}}" for i in range(1, 300)
    ]
    text = "\n".join(lines) + "\n"
    assert load(composer, text).data == yaml.safe_load(text)


def test_merge_keys_cannot_nest_deeper_than_the_limit(composer: Composer) -> None:
    text = "a: " + "{<<: " * 300 + "{k: 1}" + "}" * 300 + "\n"
    error = load_error(composer, text)
    assert error.message == "merge keys '<<' nest deeper than 200 levels"
    assert error.doc_path.startswith("a.<<.<<")


@pytest.mark.parametrize("depth", [250, 2_000])
def test_deeply_nested_text_is_an_error_not_a_crash(composer: Composer, depth: int) -> None:
    error = load_error(composer, "a: " + "[" * depth + "]" * depth + "\n")
    assert "nest" in str(error)


def test_nesting_within_the_limit_loads(composer: Composer) -> None:
    text = "a: " + "[" * 150 + "1" + "]" * 150 + "\n"
    assert load(composer, text).data == yaml.safe_load(text)


def big_manifest(agents: int, tools: int) -> str:
    parts = ["version: 1\nagents:\n"]
    for number in range(agents):
        parts.append(
            f"  agent-{number}:\n"
            f"    owner: {{name: Dana Reyes, email: dana{number}@example.com}}\n"
            "    stage: stabilization\n"
            "    permissions_reviewed: 2026-10-01\n"
            "    tools:\n"
        )
        parts.extend(
            f"      crm.tool_{tool}: {{access: write, approval: required, "
            f'description: "tool {tool}"}}\n'
            for tool in range(tools)
        )
        parts.append("    budgets: {tokens_per_session: 20000, cost_usd_per_day: 50.5}\n")
    return "".join(parts)


def test_a_large_manifest_loads_within_the_default_node_limit(tmp_path: Path) -> None:
    manifest = tmp_path / "agent-readiness.yaml"
    manifest.write_text(big_manifest(200, 20), encoding="utf-8")
    document = load_yaml(manifest)
    assert isinstance(document.data, dict)
    assert len(document.data["agents"]) == 200
    last_tool = ("agents", "agent-199", "tools", "crm.tool_19", "access")
    assert document.source_text(last_tool) == "write"
    location = document.location(last_tool)
    assert location is not None
    assert (
        manifest.read_text(encoding="utf-8")
        .splitlines()[location.line - 1]
        .startswith("      crm.tool_19: {access: write")
    )


def write(tmp_path: Path, content: bytes, name: str = "agent-readiness.yaml") -> Path:
    path = tmp_path / name
    path.write_bytes(content)
    return path


def test_load_yaml_reads_a_real_file_and_names_it_as_displayed(tmp_path: Path) -> None:
    path = write(tmp_path, DESIGN_MANIFEST.encode())
    document = load_yaml(path, display="agent-readiness.yaml")
    assert document.file == "agent-readiness.yaml"
    assert document.data == dates_as_text(yaml.safe_load(DESIGN_MANIFEST))
    assert load_yaml(path).file == str(path)


@pytest.mark.parametrize(
    ("content", "line", "column", "fragment"),
    [
        (b"a: 1\nb: caf\xe9\n", 2, 7, "the file is not UTF-8 text: byte 0xe9 cannot be decoded"),
        (b"\xff\xfea\x00:\x00", 1, 1, "the file is UTF-16 text"),
        ("a: 1\n".encode("utf-16-be"), 1, 1, "NUL bytes (is it UTF-16 or binary?)"),
        (b"a: 1\nb: x\x00\n", 2, 5, "NUL bytes"),
        (b"a: \xc3\n", 1, 4, "byte 0xc3"),
        (b"\xef\xbb\xbfa: \xc3\n", 1, 4, "byte 0xc3"),
        (b"\xef\xbb\xbf- a\n", 1, 1, "the document is a list"),
        (b"a: 1\nb: [\n", 3, 1, "while parsing a flow"),
    ],
)
def test_undecodable_or_bad_files_are_located(
    tmp_path: Path, content: bytes, line: int, column: int, fragment: str
) -> None:
    path = write(tmp_path, content)
    with pytest.raises(SourceError) as caught:
        load_yaml(path, display="m.yaml")
    assert (caught.value.file, caught.value.line, caught.value.column) == ("m.yaml", line, column)
    assert fragment in caught.value.message


def test_a_utf8_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    document = load_yaml(write(tmp_path, b"\xef\xbb\xbfa: 1\n"))
    assert document.data == {"a": 1}
    assert document.location(("a",)) == Location(1, 4)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(SourceError) as caught:
        load_yaml(tmp_path / "absent.yaml", display="absent.yaml")
    assert str(caught.value) == "absent.yaml: no such file"
    assert caught.value.line is None


def test_a_directory_is_not_a_file(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="is a directory"):
        load_yaml(tmp_path)


@pytest.mark.parametrize(("size", "fails"), [(99, False), (100, False), (101, True)])
def test_files_over_max_bytes_are_refused(tmp_path: Path, size: int, fails: bool) -> None:
    content = b"a: " + b"x" * (size - 4) + b"\n"
    path = write(tmp_path, content)
    if not fails:
        assert load_yaml(path, max_bytes=100).data == {"a": "x" * (size - 4)}
        return
    with pytest.raises(SourceError, match="larger than 100 bytes") as caught:
        load_yaml(path, max_bytes=100)
    assert caught.value.line is None


def test_max_nodes_is_passed_through_load_yaml(tmp_path: Path) -> None:
    path = write(tmp_path, b"a: [1, 2]\n")
    with pytest.raises(SourceError, match="more than 4 nodes"):
        load_yaml(path, max_nodes=4)


@pytest.mark.parametrize(
    ("error", "rendered"),
    [
        (SourceError("no such file", file="m.yaml"), "m.yaml: no such file"),
        (SourceError("bad", file="m.yaml", line=3), "m.yaml:3: bad"),
        (SourceError("bad", file="m.yaml", line=3, column=7), "m.yaml:3:7: bad"),
        (SourceError("bad", file="m.yaml", column=7), "m.yaml: bad"),
        (
            SourceError("bad", file="m.yaml", line=3, column=7, doc_path="agents.x"),
            "m.yaml:3:7: agents.x: bad",
        ),
        (SourceError("bad", file=""), "bad"),
    ],
)
def test_source_error_renders_its_parts(error: SourceError, rendered: str) -> None:
    assert str(error) == rendered


def test_source_error_survives_pickling() -> None:
    error = SourceError(
        "bad", file="m.yaml", line=3, column=7, doc_path="agents.x", expected="a mapping"
    )
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.message, copy.file, copy.line, copy.column, copy.doc_path, copy.expected) == (
        "bad",
        "m.yaml",
        3,
        7,
        "agents.x",
        "a mapping",
    )
    assert str(copy) == str(error)


def test_document_error_points_at_a_value_or_its_key() -> None:
    document = load_yaml_text(LAYOUT, file="m.yaml")
    unknown = document.error((*BOT, "stage"), "not a stage", expected="a stage name")
    assert str(unknown) == "m.yaml:6:12: agents.triage-bot.stage: not a stage"
    assert unknown.expected == "a stage name"
    at_key = document.error((*BOT, "stage"), "unknown key", at_key=True)
    assert (at_key.line, at_key.column) == (6, 5)
    missing = document.error((*BOT, "tools", "nope"), "required", at_key=True)
    assert (missing.line, missing.column) == (8, 7)
    assert missing.doc_path == "agents.triage-bot.tools.nope"
    root = document.error((), "wrong")
    assert str(root) == "m.yaml:1:1: wrong"


# Plain scalars whose YAML 1.1 implicit tag is easy to get wrong. The loaders remember the tag
# of each text they have resolved; what they remember must be exactly what PyYAML resolves.
TRICKY_SCALARS = [
    *("yes", "Yes", "YES", "yEs", "no", "NO", "on", "On", "OFF", "oN", "y", "Y", "n", "N"),
    *("true", "True", "TRUE", "tRUE", "false", "null", "Null", "NULL", "nULL", "~", ""),
    *("0", "-0", "+1", "017", "0o17", "08", "0x1F", "0x_1F", "0b101", "0b2", "1_000", "1__0"),
    *("_1", "1:30", "190:20:30", "1:60", "3.10", "3.1.0", ".5", "5.", "-.5", "+.5", "1e3"),
    *("1.0e+3", "6.8523015e+5", "1_0.5", ".inf", "-.Inf", "+.INF", ".nan", ".NaN", ".nAn"),
    *("2001-12-14", "2001-12-14t21:59:43.10-05:00", "2001-12-14 21:59:43.10 -5", "2026-1-1"),
    *("2002-12-14T00:00:00Z", "=", "==", "<<", "<", "version", "1.2.3", "0.", ".", "0x"),
    *("read", "CANARY-1", "two words", "yes please", "é"),
]


def node_tags(loader: Any, text: str) -> list[tuple[str, object]]:
    """Every node's tag and scalar text, in document order, as ``loader`` composes them."""
    composer = loader(text)
    try:
        root = composer.get_single_node()
    finally:
        composer.dispose()
    tags: list[tuple[str, object]] = []
    pending: list[Node] = [root]
    while pending:
        node = pending.pop()
        tags.append((node.tag, node.value if isinstance(node, ScalarNode) else None))
        if isinstance(node, SequenceNode):
            pending.extend(reversed(node.value))
        elif isinstance(node, MappingNode):
            pending.extend(item for pair in reversed(node.value) for item in reversed(pair))
    return tags


@pytest.mark.parametrize(("ours", "theirs"), LOADER_PAIRS)
@pytest.mark.parametrize("scalar", TRICKY_SCALARS)
def test_remembered_scalar_tags_are_pyyamls(ours: Any, theirs: Any, scalar: str) -> None:
    # Seen as a value, again as a value, as list items, quoted (never resolved) and as a key.
    text = f"a: {scalar}\nb: {scalar}\nc:\n- {scalar}\n- '{scalar}'\n- {scalar}\n"
    if scalar:
        text += f"{scalar}: key\n"
    assert node_tags(ours, text) == node_tags(theirs, text)


@pytest.mark.parametrize(("ours", "theirs"), LOADER_PAIRS)
def test_remembered_scalar_tags_are_pyyamls_across_one_document(ours: Any, theirs: Any) -> None:
    items = "".join(f"- {scalar}\n" for scalar in TRICKY_SCALARS * 2)
    text = f"all:\n{items}"
    tags = node_tags(ours, text)
    assert tags == node_tags(theirs, text)
    kinds = ("bool", "int", "float", "null", "timestamp", "str", "merge", "value")
    assert {tag for tag, _ in tags} == {f"tag:yaml.org,2002:{kind}" for kind in kinds} | {
        "tag:yaml.org,2002:seq",
        "tag:yaml.org,2002:map",
    }


@pytest.mark.parametrize(("ours", "theirs"), LOADER_PAIRS)
def test_no_tag_is_remembered_when_a_path_resolver_decides_it(ours: Any, theirs: Any) -> None:
    # A path resolver tags by position, so the same text can get different tags.
    special = "tag:example.com,2000:special"

    class OursWithPathResolver(ours):  # type: ignore[misc]
        pass

    class TheirsWithPathResolver(theirs):  # type: ignore[misc]
        pass

    for loader in (OursWithPathResolver, TheirsWithPathResolver):
        loader.add_path_resolver(special, ["a"], str)
    text = "a: hello\nb: hello\nc: [hello]\n"
    tags = node_tags(OursWithPathResolver, text)
    assert tags == node_tags(TheirsWithPathResolver, text)
    assert (special, "hello") in tags
    assert ("tag:yaml.org,2002:str", "hello") in tags


def document_answers(document: Document) -> list[object]:
    """Everything a Document says about each of its paths (and about paths just beside them)."""
    answers: list[object] = [document.data]
    pending: list[tuple[tuple[str | int, ...], object]] = [((), document.data)]
    while pending:
        path, value = pending.pop()
        children: list[tuple[str | int, object]] = []
        if isinstance(value, dict):
            children = list(value.items())
        elif isinstance(value, list):
            children = list(enumerate(value))
        pending.extend(((*path, key), child) for key, child in children)
        for probe in (path, (*path, "missing"), (*path, 0)):
            error = document.error(probe, "problem", at_key=True)
            answers.append(
                (
                    probe,
                    document.location(probe),
                    document.key_location(probe),
                    document.nearest_location(probe),
                    document.source_text(probe),
                    document.reading_note(probe),
                    str(error),
                )
            )
    return answers


def outcome(loader: Any, text: str, max_nodes: int) -> object:
    try:
        return document_answers(_load_with(loader, text, file="m.yaml", max_nodes=max_nodes))
    except SourceError as error:
        return (error.message, error.line, error.column, error.doc_path, error.expected)


OUTCOME_CASES = [
    *ROUND_TRIP.values(),
    LAYOUT,
    "a: &x {b: 1, c: [yes, '2']}\nd: *x\ne: {<<: *x, f: 3.10}\ng: [*x, *x]\n",
    billion_laughs(3, 3),
    *(case[0] for case in SYNTAX_AND_STRUCTURE_ERRORS),
]


@pytest.mark.parametrize(("ours", "theirs"), LOADER_PAIRS)
@pytest.mark.parametrize("max_nodes", [100_000, 7])
@pytest.mark.parametrize("text", OUTCOME_CASES)
def test_remembered_tags_change_nothing_a_document_says(
    ours: Any, theirs: Any, max_nodes: int, text: str
) -> None:
    assert outcome(ours, text, max_nodes) == outcome(theirs, text, max_nodes)


def written_nodes(
    node: Node, path: tuple[str | int, ...], key: Node | None
) -> list[tuple[tuple[str | int, ...], Node, Node | None]]:
    """Each path of a document without aliases or merges, with its value's and key's nodes."""
    found = [(path, node, key)]
    if isinstance(node, SequenceNode):
        for index, item in enumerate(node.value):
            found += written_nodes(item, (*path, index), None)
    elif isinstance(node, MappingNode):
        for key_node, value_node in node.value:
            found += written_nodes(value_node, (*path, key_node.value), key_node)
    return found


@pytest.mark.parametrize(("ours", "theirs"), LOADER_PAIRS)
@pytest.mark.parametrize(
    "text",
    [
        LAYOUT,
        DESIGN_MANIFEST,
        *(ROUND_TRIP[name] for name in ("scalars of every core type", "flow and nesting")),
        *(ROUND_TRIP[name] for name in ("windows line endings", "unicode")),
        "a: 'x\r\n\r\n  y'\rb: \"p\\\r\n q\"\x85c: |\n  l\u2028m: 1\u2029d: [1,\n 2]\n",
    ],
)
def test_every_location_is_where_pyyaml_marks_the_node(ours: Any, theirs: Any, text: str) -> None:
    document = _load_with(ours, text, file="m.yaml", max_nodes=100_000)
    composer = theirs(text)
    root = composer.get_single_node()
    composer.dispose()
    for path, node, key in written_nodes(root, (), None):
        start, end = node.start_mark, node.end_mark
        assert document.location(path) == Location(start.line + 1, start.column + 1), path
        key_at = Location(key.start_mark.line + 1, key.start_mark.column + 1) if key else None
        assert document.key_location(path) == key_at, path
        written = text[start.index : end.index] if isinstance(node, ScalarNode) else None
        assert document.source_text(path) == written, path


def test_a_loaded_document_keeps_no_yaml_nodes_alive() -> None:
    # A document answers from plain numbers; holding the composed node tree (three objects per
    # node) would keep megabytes alive for a large manifest and slow every later collection.
    node_types = (ScalarNode, SequenceNode, MappingNode)

    def live_nodes() -> int:
        gc.collect()
        return sum(type(each) in node_types for each in gc.get_objects())

    before = live_nodes()
    document = load_yaml_text(DESIGN_MANIFEST, file="agent-readiness.yaml")
    assert live_nodes() == before
    assert document.key_location(("agents", "triage-bot", "stage")) == Location(7, 5)


@pytest.mark.parametrize("text", ["a: 1\n", "a: [1\n", "a: !!python/tuple []\n", "- 1\n"])
@pytest.mark.parametrize("enabled", [True, False])
def test_loading_leaves_the_garbage_collector_as_it_found_it(text: str, enabled: bool) -> None:
    was_enabled = gc.isenabled()
    try:
        if enabled:
            gc.enable()
        else:
            gc.disable()
        with contextlib.suppress(SourceError):
            load_yaml_text(text, file="m.yaml")
        assert gc.isenabled() is enabled
    finally:
        if was_enabled:
            gc.enable()
        else:
            gc.disable()
