"""Evidence from the red-team tools a team already runs: promptfoo and garak result files.

Each importer reads one file exactly as the tool writes it and returns a :class:`RedTeamResult`:
how many cases passed out of how many, the run's own timestamp (from the file, never its mtime),
the prompt version the team says the run was against, and the failing items (capped).

How a team records the prompt version (compared with ``lock.current_prompt_version``):

- promptfoo (``promptfoo eval -o results.json``): a suite tag in ``promptfooconfig.yaml``,
  ``tags: {prompt_version: "3.2.0"}`` (written to the output's ``config.tags``), or per test
  ``metadata: {prompt_version: "3.2.0"}`` (``defaultTest.metadata`` sets it for all). Every
  result must resolve to the same version: a file that mixes versions, or tags only some
  results, is refused, because a pass rate cannot be split between versions after the fact.
- garak (``garak --config run.yaml ...``): a ``prompt_version`` key under ``run:`` in the run
  config YAML (garak copies every ``run`` setting into the report's ``start_run setup`` line as
  ``run.prompt_version``), or a report prefix ending in ``prompt-<version>``
  (``--report_prefix triage-bot.prompt-3.2.0``). Quote the version in YAML: ``3.2`` is a number.

Counting (fail closed: only what was seen to hold counts as passed):

- promptfoo: one case per entry of ``results.results``; passed when ``success`` is true.
  Errors (``failureReason`` 2) count as not passed, like assertion failures.
- garak: one case per scored output per probe/detector pair, from the ``eval`` lines. Outputs a
  detector could not score (``nones``) count as not passed, although garak's own console line
  (``ok on passed/total_evaluated``) leaves them out. A report without its ``completion`` line
  is an unfinished run and is refused; so is a file holding two runs.

garak writes local wall-clock times without a zone; they are read as UTC (CI runners' zone).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

from .lock import json_value_line

__all__ = [
    "MAX_FAILURES",
    "PROMPT_VERSION_KEY",
    "RedTeamFailure",
    "RedTeamImportError",
    "RedTeamResult",
    "import_garak",
    "import_promptfoo",
]

PROMPT_VERSION_KEY = "prompt_version"
MAX_FAILURES = 20
_MAX_REASON = 200
# promptfoo writes one JSON document; bigger than this is not an eval a gate should load whole.
_MAX_PROMPTFOO_BYTES = 256 * 1024 * 1024
_PROMPTFOO_SUMMARY_VERSIONS = (2, 3)
_ERROR_REASON = 2  # promptfoo's ResultFailureReason.ERROR
_SEMVER = r"(?:0|[1-9]\d*)\.(?:0|[1-9]\d*)\.(?:0|[1-9]\d*)(?:-[0-9A-Za-z.-]+)?"
_PREFIX_VERSION = re.compile(rf"(?:^|[^0-9A-Za-z])prompt[-_]({_SEMVER})$")

Tool = Literal["promptfoo", "garak"]


class RedTeamImportError(Exception):
    """A red-team result file cannot be read as evidence: names the file, line and why."""

    def __init__(self, message: str, file: str, line: int | None = None) -> None:
        # Positional arguments only, so the default pickling (xdist) rebuilds it.
        super().__init__(message, file, line)
        self.message = message
        self.file = file
        self.line = line

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        return f"{where}: {self.message}"


@dataclass(frozen=True)
class RedTeamFailure:
    """One failing item: an id a reader can find in the tool's report, and a short reason."""

    id: str
    reason: str


@dataclass(frozen=True)
class RedTeamResult:
    """What one red-team result file proves."""

    tool: Tool
    path: str  # display path
    passed: int
    total: int
    timestamp: datetime | None  # the run's own time, timezone-aware; None when not recorded
    prompt_version: str | None  # as the team recorded it; None when not recorded
    failures: tuple[RedTeamFailure, ...]  # at most MAX_FAILURES, in file order
    run_id: str | None = None  # promptfoo evalId, garak run uuid

    @property
    def rate(self) -> float:
        """The pass rate; 0.0 for a run with no cases (nothing was seen to hold)."""
        return self.passed / self.total if self.total else 0.0


def _short(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= _MAX_REASON else flat[: _MAX_REASON - 1] + "…"


def _parse_time(value: object, what: str, fail: _Fail) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise fail(f"{what} is {_describe(value)}; expected an ISO 8601 date and time")
    text = value.strip()
    # Python 3.10's fromisoformat does not take "Z", which JavaScript's toISOString writes.
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise fail(f"{what} {value!r} is not an ISO 8601 date and time") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)


def _describe(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, (int, float)):
        return f"the number {value}"
    if isinstance(value, str):
        return f"the text {value!r}"
    if isinstance(value, list):
        return "a list"
    return "an object"


class _Fail:
    """Builds errors for one file; promptfoo errors find their line from a JSON path."""

    def __init__(self, file: str, text: str | None = None) -> None:
        self.file = file
        self.text = text
        self.path: Sequence[str | int] = ()
        self.line: int | None = None

    def at(self, *path: str | int) -> _Fail:
        located = _Fail(self.file, self.text)
        located.path = path
        return located

    def on_line(self, line: int) -> _Fail:
        located = _Fail(self.file)
        located.line = line
        return located

    def __call__(self, message: str) -> RedTeamImportError:
        line = self.line
        if line is None and self.text is not None:
            line = json_value_line(self.text, self.path)
        where = _json_path(self.path)
        return RedTeamImportError(f"{where}: {message}" if where else message, self.file, line)


def _json_path(path: Sequence[str | int]) -> str:
    parts: list[str] = []
    for item in path:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        elif re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", item):
            parts.append(f".{item}" if parts else item)
        else:
            parts.append(f"[{json.dumps(item)}]")
    return "".join(parts)


def _read_text(path: Path, shown: str, limit: int | None) -> str:
    try:
        with path.open("rb") as stream:
            raw = stream.read() if limit is None else stream.read(limit + 1)
    except FileNotFoundError:
        raise RedTeamImportError("no such file", shown) from None
    except IsADirectoryError:
        raise RedTeamImportError("is a directory, not a result file", shown) from None
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise RedTeamImportError(f"cannot read the file: {reason}", shown) from None
    if limit is not None and len(raw) > limit:
        raise RedTeamImportError(f"the file is larger than {limit} bytes", shown)
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        message = f"not UTF-8 text: byte 0x{raw[exc.start]:02x} cannot be decoded"
        raise RedTeamImportError(message, shown, line) from None


# --- promptfoo ------------------------------------------------------------------------------


def import_promptfoo(path: Path, *, display: str | None = None) -> RedTeamResult:
    """Read a ``promptfoo eval -o results.json`` output file as red-team evidence.

    The shape is promptfoo's ``OutputFile``: ``{evalId, results: {version, timestamp, prompts,
    results: [EvaluateResult], stats}, config, shareableUrl, metadata}``; a bare results
    summary (``{version, timestamp, results, stats}``) is read too. Raises
    :class:`RedTeamImportError` with the file and line for anything else.
    """
    shown = display if display is not None else str(path)
    text = _read_text(path, shown, _MAX_PROMPTFOO_BYTES)
    fail = _Fail(shown, text)
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RedTeamImportError(
            f"not valid JSON: {exc.msg} (column {exc.colno}); expected the file written by "
            "`promptfoo eval -o results.json`",
            shown,
            exc.lineno,
        ) from None
    if not isinstance(document, dict):
        raise fail(f"the document is {_describe(document)}; expected a promptfoo output object")
    if isinstance(document.get("results"), dict):
        summary_path: tuple[str, ...] = ("results",)
        summary: dict[str, Any] = document["results"]
        config = document.get("config")
        metadata = document.get("metadata")
    elif isinstance(document.get("results"), list) and "version" in document:
        summary_path, summary, config, metadata = (), document, None, None
    else:
        raise fail(
            "no results object; expected the file written by `promptfoo eval -o results.json` "
            "(results.version, results.results, results.stats)"
        )
    version = summary.get("version")
    if version not in _PROMPTFOO_SUMMARY_VERSIONS:
        raise fail.at(*summary_path, "version")(
            f"results version is {_describe(version)}; this reader knows promptfoo results "
            "versions 2 and 3 (promptfoo 0.50 and later)"
        )
    items = summary.get("results")
    if not isinstance(items, list):
        raise fail.at(*summary_path, "results")(
            f"is {_describe(items)}; expected the list of test results"
        )
    tags = _mapping(config, "tags", fail.at("config", "tags"))
    suite_version = _version_value(tags.get(PROMPT_VERSION_KEY), fail.at("config", "tags"))
    passed = 0
    failures: list[RedTeamFailure] = []
    versions: dict[str | None, int] = {}
    providers = {_provider_of(item) for item in items if isinstance(item, dict)}
    for index, item in enumerate(items):
        item_fail = fail.at(*summary_path, "results", index)
        if not isinstance(item, dict):
            raise item_fail(f"is {_describe(item)}; expected a test result object")
        success = item.get("success")
        if not isinstance(success, bool):
            raise item_fail.at(*summary_path, "results", index, "success")(
                f"is {_describe(success)}; expected true or false"
            )
        test_case = _mapping(item, "testCase", item_fail)
        case_version = _case_version(item, test_case, item_fail, suite_version)
        versions.setdefault(case_version, index)
        if success:
            passed += 1
        elif len(failures) < MAX_FAILURES:
            failures.append(
                RedTeamFailure(
                    _promptfoo_item_id(item, test_case, index, len(providers) > 1),
                    _promptfoo_reason(item),
                )
            )
    prompt_version = _single_version(versions, suite_version, fail, summary_path)
    timestamp = _parse_time(
        summary.get("timestamp"), "the run timestamp", fail.at(*summary_path, "timestamp")
    )
    if timestamp is None and isinstance(metadata, dict):
        timestamp = _parse_time(
            metadata.get("evaluationCreatedAt"),
            "the evaluation time",
            fail.at("metadata", "evaluationCreatedAt"),
        )
    run_id = document.get("evalId") if summary_path else None
    return RedTeamResult(
        tool="promptfoo",
        path=shown,
        passed=passed,
        total=len(items),
        timestamp=timestamp,
        prompt_version=prompt_version,
        failures=tuple(failures),
        run_id=run_id if isinstance(run_id, str) else None,
    )


def _mapping(container: object, key: str, fail: _Fail) -> Mapping[str, Any]:
    if not isinstance(container, dict):
        return {}
    value = container.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise fail(f"{key} is {_describe(value)}; expected an object")
    return value


def _version_value(value: object, fail: _Fail) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise fail(
            f"{PROMPT_VERSION_KEY} is {_describe(value)}; expected the prompt version as text "
            '(quote it in YAML: prompt_version: "3.2.0")'
        )
    return value.strip()


def _case_version(
    item: Mapping[str, Any], test_case: Mapping[str, Any], fail: _Fail, suite: str | None
) -> str | None:
    # promptfoo copies test metadata into the result's own metadata; either place counts.
    for source, where in ((test_case, "testCase"), (item, "")):
        metadata = _mapping(source, "metadata", fail)
        if PROMPT_VERSION_KEY in metadata:
            located = fail.at(*fail.path, *((where,) if where else ()), "metadata")
            return _version_value(metadata[PROMPT_VERSION_KEY], located)
    return suite


def _single_version(
    versions: Mapping[str | None, int],
    suite: str | None,
    fail: _Fail,
    summary_path: tuple[str, ...],
) -> str | None:
    if not versions:
        return suite
    if len(versions) == 1:
        return next(iter(versions))
    named = sorted(v for v in versions if v is not None)
    first_odd = sorted(versions.values())[1]
    if None in versions:
        message = (
            f"some results record {PROMPT_VERSION_KEY} {', '.join(named)} and some record none; "
            "set it for the whole suite (tags or defaultTest.metadata) so every result has it"
        )
    else:
        message = (
            f"the results were run against several prompt versions ({', '.join(named)}); "
            "write one output file per prompt version"
        )
    raise fail.at(*summary_path, "results", first_odd)(message)


def _provider_of(item: Mapping[str, Any]) -> str:
    provider = item.get("provider")
    if isinstance(provider, dict):
        label, ident = provider.get("label"), provider.get("id")
        if isinstance(label, str) and label:
            return label
        if isinstance(ident, str):
            return ident
    return ""


def _promptfoo_item_id(
    item: Mapping[str, Any], test_case: Mapping[str, Any], index: int, name_provider: bool
) -> str:
    description = test_case.get("description") or item.get("description")
    test_index = item.get("testIdx")
    label = (
        description
        if isinstance(description, str) and description
        else f"test {test_index if isinstance(test_index, int) else index}"
    )
    metadata = test_case.get("metadata")
    plugin = metadata.get("pluginId") if isinstance(metadata, dict) else None
    if isinstance(plugin, str) and plugin:
        label = f"{plugin}: {label}"
    if name_provider:
        label = f"{label} [{_provider_of(item)}]"
    return _short(label)


def _promptfoo_reason(item: Mapping[str, Any]) -> str:
    error = item.get("error")
    if item.get("failureReason") == _ERROR_REASON or (isinstance(error, str) and error):
        return _short(f"error: {error}" if isinstance(error, str) and error else "error")
    grading = item.get("gradingResult")
    if isinstance(grading, dict):
        reason = grading.get("reason")
        if isinstance(reason, str) and reason.strip():
            return _short(reason)
    return "failed"


# --- garak ----------------------------------------------------------------------------------


@dataclass
class _GarakRun:
    run_ids: dict[str, int]  # run uuid -> line of its init entry
    start_time: datetime | None = None
    setup: Mapping[str, Any] | None = None
    setup_line: int = 0
    completed: bool = False
    passed: int = 0
    total: int = 0


def import_garak(path: Path, *, display: str | None = None) -> RedTeamResult:
    """Read a garak report (``garak.<uuid>.report.jsonl`` or ``<prefix>.report.jsonl``).

    Lines are JSON objects with an ``entry_type``: ``start_run setup`` (the run config),
    ``init`` (version, start time, run uuid), ``attempt``, ``eval`` (per probe and detector:
    ``passed``, ``fails``, ``nones``, ``total_evaluated``, ``total_processed``; older garak wrote
    ``passed`` and ``total``), ``completion`` and, after it, ``digest``. Other entry types are
    skipped. Raises :class:`RedTeamImportError` naming the line for a line that is not a JSON
    object, a malformed ``eval`` line, an unfinished run, or two runs in one file.
    """
    shown = display if display is not None else str(path)
    fail = _Fail(shown)
    run = _GarakRun(run_ids={})
    failures: list[RedTeamFailure] = []
    for number, entry in _jsonl(_read_text(path, shown, None), shown):
        line_fail = fail.on_line(number)
        kind = entry["entry_type"]
        if kind == "start_run setup":
            run.setup, run.setup_line = entry, number
        elif kind == "init":
            _garak_init(run, entry, line_fail)
        elif kind == "eval":
            failure = _garak_eval(run, entry, line_fail)
            if failure is not None and len(failures) < MAX_FAILURES:
                failures.append(failure)
        elif kind == "completion":
            run.completed = True
    if not run.completed:
        raise RedTeamImportError(
            "the report has no completion line: the garak run did not finish (it crashed or "
            "was stopped), so its results are not evidence; run it again to the end",
            shown,
        )
    prompt_version = _garak_prompt_version(run, fail)
    run_id = next(iter(run.run_ids), None)
    return RedTeamResult(
        tool="garak",
        path=shown,
        passed=run.passed,
        total=run.total,
        timestamp=run.start_time,
        prompt_version=prompt_version,
        failures=tuple(failures),
        run_id=run_id,
    )


def _jsonl(text: str, shown: str) -> Iterator[tuple[int, dict[str, Any]]]:
    # garak ends its completion line without a newline and may append a digest after one, so
    # lines are split here rather than trusted to end in "\n".
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
        except json.JSONDecodeError as exc:
            raise RedTeamImportError(
                f"line is not JSON: {exc.msg} (column {exc.colno}); expected one JSON object "
                "per line as garak writes its report",
                shown,
                number,
            ) from None
        if not isinstance(entry, dict) or not isinstance(entry.get("entry_type"), str):
            raise RedTeamImportError(
                f"line is {_describe(entry) if not isinstance(entry, dict) else 'an object'} "
                "without a text entry_type; expected a garak report entry",
                shown,
                number,
            )
        yield number, entry


def _garak_init(run: _GarakRun, entry: Mapping[str, Any], fail: _Fail) -> None:
    run_id = entry.get("run")
    if isinstance(run_id, str):
        if run.run_ids and run_id not in run.run_ids:
            first = next(iter(run.run_ids.values()))
            raise fail(
                f"a second garak run ({run_id}) starts here after the run on line {first}; "
                "expected one run per report file"
            )
        run.run_ids.setdefault(run_id, fail.line or 0)
    if run.start_time is None:
        run.start_time = _parse_time(entry.get("start_time"), "start_time", fail)


def _count(entry: Mapping[str, Any], key: str, fail: _Fail) -> int | None:
    value = entry.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise fail(f"eval {key} is {_describe(value)}; expected a whole number of outputs")
    return value


def _garak_eval(run: _GarakRun, entry: Mapping[str, Any], fail: _Fail) -> RedTeamFailure | None:
    probe, detector = entry.get("probe"), entry.get("detector")
    if not isinstance(probe, str) or not isinstance(detector, str):
        raise fail("an eval line needs text probe and detector names")
    passed = _count(entry, "passed", fail)
    if passed is None:
        raise fail("eval line has no passed count")
    processed = _count(entry, "total_processed", fail)
    evaluated = _count(entry, "total_evaluated", fail)
    nones = _count(entry, "nones", fail) or 0
    legacy = _count(entry, "total", fail)
    if processed is not None:
        total = processed
    elif evaluated is not None:
        total = evaluated + nones
    elif legacy is not None:
        total = legacy
    else:
        raise fail("eval line has no total_evaluated (or total) count")
    if passed > total:
        raise fail(f"eval passed {passed} is more than its total {total}")
    run.passed += passed
    run.total += total
    if passed == total:
        return None
    fails = _count(entry, "fails", fail)
    hit = f"{fails} of {total} outputs hit" if fails is not None else f"{total - passed} failed"
    unscored = f", {nones} not scored" if nones else ""
    return RedTeamFailure(_short(f"{probe} / {detector}"), f"{hit}{unscored}")


def _garak_prompt_version(run: _GarakRun, fail: _Fail) -> str | None:
    if run.setup is None:
        return None
    line_fail = fail.on_line(run.setup_line)
    from_config = _version_value(run.setup.get(f"run.{PROMPT_VERSION_KEY}"), line_fail)
    prefix = run.setup.get("reporting.report_prefix")
    match = _PREFIX_VERSION.search(prefix) if isinstance(prefix, str) else None
    from_prefix = match.group(1) if match is not None else None
    if from_config is not None and from_prefix is not None and from_config != from_prefix:
        raise line_fail(
            f"run.{PROMPT_VERSION_KEY} is {from_config} but the report prefix says "
            f"{from_prefix}; expected one prompt version per run"
        )
    return from_config or from_prefix
