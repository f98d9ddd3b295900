"""What a run has seen so far, and the scorecard it amounts to.

Plain data fed by the pytest session (one report at a time) and, for sharded CI, by
``agent-readiness merge`` (whole partial runs): one place turns it into a scorecard, so a merged
scorecard is the one an unsharded run writes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from .checks import CheckRegistry, Evidence, EvidenceSource, Outcome
from .model import Manifest
from .paths import ManifestPaths, OutsideRepository, declared_at, resolve_inside
from .scoring import Assessment, assess

if TYPE_CHECKING:
    from .adversarial import Suite
    from .adversarial.results import AdversarialSummary, ImportedResult

Claim = tuple[str, str, EvidenceSource]  # (check, agent, source)
Found = tuple[str, str, str]  # (check, agent, evidence): a probe saw that check broken
CaseClaim = tuple[str, str, str, str]  # (agent, suite, case id, source)


class EvidenceInputError(ValueError):
    """Suites or imported results that cannot be read; the message says which file and why."""


def load_suites(manifest: Manifest, shown: str) -> Mapping[str, Suite]:
    """The built-in suites plus each agent's suite_dirs; every declared suite must exist.

    Of the built-in suites only the declared ones are parsed (the rest when looked up)."""
    from .adversarial import CorpusError, load_suite_dir, with_builtin_suites

    paths = ManifestPaths(manifest)
    declared: set[str] = set()
    try:
        groups = []
        seen_dirs: set[Path] = set()
        for name, agent in manifest.agents.items():
            declared.update(agent.adversarial.suites if agent.adversarial else ())
            for index, folder in enumerate(
                agent.adversarial.suite_dirs if agent.adversarial else ()
            ):
                key = ("agents", name, "adversarial", "suite_dirs", index)
                path = _inside(manifest, paths, folder, key)
                if path not in seen_dirs:
                    seen_dirs.add(path)
                    _case_files_inside(paths.root, path)
                    groups.append(load_suite_dir(path))
        suites = with_builtin_suites(*groups, declared=declared)
    except CorpusError as error:
        raise EvidenceInputError(f"adversarial suites: {error}") from None
    for name, agent in sorted(manifest.agents.items()):
        for index, suite in enumerate(agent.adversarial.suites if agent.adversarial else ()):
            if suite not in suites:
                line = manifest.line_of("agents", name, "adversarial", "suites", index)
                raise EvidenceInputError(
                    f"{shown}:{line}: agents.{name}.adversarial.suites[{index}]: unknown suite "
                    f"'{suite}' (expected one of: {', '.join(sorted(suites))})"
                )
    return suites


def _inside(
    manifest: Manifest, paths: ManifestPaths, value: str, key: tuple[str | int, ...]
) -> Path:
    """``value`` from the manifest at ``key``, resolved inside the repository or refused."""
    try:
        return paths.resolve(value)
    except OutsideRepository as error:
        raise EvidenceInputError(
            f"{declared_at(manifest, *key)}: {error}; expected a path inside the repository"
        ) from None


def _case_files_inside(root: Path, folder: Path) -> None:
    """Refuse a suite folder whose case files link out of the repository, before any is read."""
    for entry in sorted(folder.iterdir()) if folder.is_dir() else ():
        if entry.suffix in (".yaml", ".yml"):
            try:
                resolve_inside(root, folder, entry.name)
            except OutsideRepository as error:
                raise EvidenceInputError(
                    f"adversarial suites: {entry}: {error}; expected case files inside the "
                    "repository"
                ) from None


def load_imports(manifest: Manifest, shown: str) -> tuple[ImportedResult, ...]:
    """Red-team results the manifest imports, read once; a malformed file is a usage error."""
    if not any(
        agent.adversarial and agent.adversarial.imports for agent in manifest.agents.values()
    ):
        return ()  # and the importers stay unloaded
    from .adversarial.results import ImportedResult
    from .importers import RedTeamImportError, RedTeamResult, import_garak, import_promptfoo

    readers = {"promptfoo": import_promptfoo, "garak": import_garak}
    results: list[ImportedResult] = []
    paths = ManifestPaths(manifest)
    # A fleet's agents often share one results file: each file is read and parsed once.
    reads: dict[tuple[str, Path, str], RedTeamResult] = {}
    for name, agent in sorted(manifest.agents.items()):
        for entry in agent.adversarial.imports if agent.adversarial else ():
            if entry.suite not in agent.adversarial.suites:  # type: ignore[union-attr]
                line = manifest.line_of("agents", name, "adversarial", "imports", entry.index)
                raise EvidenceInputError(
                    f"{shown}:{line}: agents.{name}.adversarial.imports[{entry.index}]: suite "
                    f"'{entry.suite}' is not one of the agent's suites"
                )
            key = ("agents", name, "adversarial", "imports", entry.index, "path")
            path = _inside(manifest, paths, entry.path, key)
            source = (entry.tool, path, entry.path)
            if source not in reads:
                try:
                    reads[source] = readers[entry.tool](path, display=entry.path)
                except RedTeamImportError as error:
                    raise EvidenceInputError(f"adversarial imports: {error}") from None
            read = reads[source]
            results.append(
                ImportedResult(
                    agent=name,
                    suite=entry.suite,
                    tool=entry.tool,
                    path=entry.path,
                    passed=read.passed,
                    total=read.total,
                    prompt_version=read.prompt_version,
                    failures=tuple(f"{f.id}: {f.reason}" for f in read.failures),
                )
            )
    return tuple(results)


@dataclass
class TestRecord:
    """One test or readiness item: what it claims to be evidence for, and how it ended."""

    claims: tuple[Claim, ...] = ()
    cases: tuple[CaseClaim, ...] = ()
    outcome: Outcome = "passed"
    message: str = ""
    seen: bool = False

    def note(self, *, failed: bool, skipped: bool, message: str) -> None:
        """Fold one phase's report in: any failure fails it; a skip or xfail proves nothing."""
        self.seen = True
        if failed and self.outcome != "failed":
            self.outcome = "failed"
            self.message = message
        elif skipped and self.outcome == "passed":
            self.outcome = "skipped"
            self.message = message


@dataclass
class RunEvidence:
    """Every record and tool use a run has reported, by node id."""

    records: dict[str, TestRecord] = field(default_factory=dict)
    tools_used: dict[str, dict[str, str]] = field(default_factory=dict)  # agent -> tool -> item
    findings: dict[str, set[Found]] = field(default_factory=dict)  # node id -> what it saw broken
    version: int = 0  # bumped on every change, so judgements can be cached between changes

    def record(
        self,
        nodeid: str,
        claims: Sequence[Claim],
        cases: Sequence[CaseClaim],
        *,
        failed: bool,
        skipped: bool,
        message: str,
    ) -> None:
        """One phase's report of a test that claims evidence or is an adversarial case."""
        entry = self.records.get(nodeid)
        if entry is None:  # the first phase's report: the claims are the same in every phase
            entry = self.records[nodeid] = TestRecord(tuple(claims), tuple(cases))
        entry.note(failed=failed, skipped=skipped, message=message)
        self.version += 1

    def used(self, agent: str, tool: str, nodeid: str) -> None:
        """``nodeid`` saw ``agent`` use ``tool`` in its spans (the first by node id is named,
        so the scorecard does not depend on the order items ran in)."""
        seen = self.tools_used.setdefault(agent, {})
        seen[tool] = min(seen.get(tool, nodeid), nodeid)
        self.version += 1

    def found(self, nodeid: str, check: str, agent: str, evidence: str) -> None:
        """``nodeid`` (a probe) saw ``check`` broken for ``agent``: ``evidence`` says how."""
        self.findings.setdefault(nodeid, set()).add((check, agent, evidence))
        self.version += 1

    def _attributed(self) -> list[Evidence]:
        """A failure for each finding a probe made about a check it does not claim (each
        finding belongs to the control it breaks, whichever probe saw it)."""
        collected: list[Evidence] = []
        for nodeid, found in sorted(self.findings.items()):
            entry = self.records.get(nodeid)
            claimed = {(c, a) for c, a, _ in entry.claims} if entry and entry.seen else set()
            collected.extend(
                Evidence(nodeid, check, agent, "failed", "probe", evidence)
                for check, agent, evidence in sorted(found)
                if (check, agent) not in claimed
            )
        return collected

    def _claimed(self, nodeid: str, entry: TestRecord) -> list[Evidence]:
        """The evidence one record gives each check it claims: a failing probe's findings one
        by one (so the check names each once), else its outcome with its message."""
        collected: list[Evidence] = []
        found = self.findings.get(nodeid, set())
        for check_id, agent, source in entry.claims:
            own = sorted(e for c, a, e in found if (c, a) == (check_id, agent))
            if entry.outcome == "failed" and own:
                collected.extend(
                    Evidence(nodeid, check_id, agent, "failed", source, evidence)
                    for evidence in own
                )
            else:
                collected.append(
                    Evidence(nodeid, check_id, agent, entry.outcome, source, entry.message)
                )
        return collected

    def evidence(self, manifest: Manifest, manifest_nodeid: str) -> list[Evidence]:
        """Evidence from every record, every probe's findings for the checks they break, and a
        failure for each undeclared tool seen used."""
        collected: list[Evidence] = []
        for agent, used in sorted(self.tools_used.items()):
            declared = manifest.agents[agent].tools if agent in manifest.agents else {}
            undeclared = sorted(tool for tool in used if tool not in declared)
            if undeclared:
                where = ", ".join(f"{tool} (in {used[tool]})" for tool in undeclared)
                collected.append(
                    Evidence(
                        f"{manifest_nodeid}::{agent}::tool-spans",
                        "GOV-009",
                        agent,
                        "failed",
                        "probe",
                        f"the agent used tools the manifest does not declare: {where}",
                    )
                )
        for nodeid, entry in sorted(self.records.items()):
            if entry.seen:
                collected.extend(self._claimed(nodeid, entry))
        collected.extend(self._attributed())
        return collected

    def adversarial(
        self,
        manifest: Manifest,
        manifest_nodeid: str,
        suites: Mapping[str, Suite],
        imported: Sequence[ImportedResult],
    ) -> AdversarialSummary:
        """Pass rates of the declared suites from every case that reported."""
        from .adversarial.results import CaseOutcome, summarize

        outcomes = [
            CaseOutcome(agent, suite, case_id, entry.outcome, entry.message, source)
            for _, entry in sorted(self.records.items())
            if entry.seen
            for agent, suite, case_id, source in entry.cases
        ]
        return summarize(
            manifest, outcomes, manifest_nodeid=manifest_nodeid, suites=suites, imported=imported
        )

    # -- sharded CI: a partial run's evidence as JSON, and merging partials -------------------
    def to_json(self) -> dict[str, Any]:
        """Everything :meth:`from_json` needs, with sorted keys and lists."""
        return {
            "records": {
                nodeid: {
                    "claims": [list(c) for c in entry.claims],
                    "cases": [list(c) for c in entry.cases],
                    "outcome": entry.outcome,
                    "message": entry.message,
                }
                for nodeid, entry in sorted(self.records.items())
                if entry.seen
            },
            "tools_used": {
                agent: dict(sorted(used.items())) for agent, used in sorted(self.tools_used.items())
            },
            "findings": {
                nodeid: [list(f) for f in sorted(found)]
                for nodeid, found in sorted(self.findings.items())
            },
        }

    @classmethod
    def from_json(cls, document: Mapping[str, Any]) -> RunEvidence:
        """A run's evidence back from :meth:`to_json` (ValueError when malformed)."""
        run = cls()
        try:
            for nodeid, entry in document["records"].items():
                run.records[str(nodeid)] = TestRecord(
                    claims=tuple(cast(Claim, tuple(c)) for c in entry["claims"]),
                    cases=tuple(cast(CaseClaim, tuple(c)) for c in entry["cases"]),
                    outcome=entry["outcome"],
                    message=str(entry["message"]),
                    seen=True,
                )
            for agent, used in document["tools_used"].items():
                for tool, nodeid in used.items():
                    run.used(str(agent), str(tool), str(nodeid))
            for nodeid, found in document.get("findings", {}).items():
                for check, agent, evidence in found:
                    run.found(str(nodeid), str(check), str(agent), str(evidence))
        except (KeyError, TypeError, AttributeError, ValueError) as error:
            raise ValueError(f"malformed evidence: {error!r}") from None
        return run

    def absorb(self, other: RunEvidence) -> None:
        """Fold another shard's evidence in (a test run in several shards fails if any failed)."""
        for nodeid, entry in other.records.items():
            mine = self.records.get(nodeid)
            if mine is None:
                self.records[nodeid] = TestRecord(
                    entry.claims, entry.cases, entry.outcome, entry.message, True
                )
                continue
            mine.note(
                failed=entry.outcome == "failed",
                skipped=entry.outcome == "skipped",
                message=entry.message,
            )
        for agent, used in other.tools_used.items():
            for tool, nodeid in used.items():
                self.used(agent, tool, nodeid)
        for nodeid, found in other.findings.items():
            for check, agent, evidence in found:
                self.found(nodeid, check, agent, evidence)


@dataclass
class Judge:
    """Turns a run's evidence into an assessment and a scorecard (cached between changes)."""

    manifest: Manifest
    registry: CheckRegistry
    manifest_nodeid: str
    today: date
    suites: Mapping[str, Suite]
    imported: Sequence[ImportedResult] = ()
    # The manifest file relative to the repository root, where every report location points.
    manifest_in_repository: str | None = None
    _cache: dict[tuple[int, tuple[str, ...]], tuple[Assessment, AdversarialSummary]] = field(
        default_factory=dict
    )

    def _judged(
        self, run: RunEvidence, incomplete: Sequence[str]
    ) -> tuple[Assessment, AdversarialSummary]:
        # The suites' pass rates feed DQ-001 and the scorecard: summarise them once per change.
        key = (run.version, tuple(incomplete))
        if key not in self._cache:
            self._cache.clear()
            summary = run.adversarial(
                self.manifest, self.manifest_nodeid, self.suites, self.imported
            )
            evidence = [*run.evidence(self.manifest, self.manifest_nodeid), *summary.evidence]
            assessment = assess(
                self.manifest,
                self.registry,
                evidence,
                today=self.today,
                incomplete_reasons=incomplete,
            )
            self._cache[key] = (assessment, summary)
        return self._cache[key]

    def assessment(self, run: RunEvidence, incomplete: Sequence[str] = ()) -> Assessment:
        """Judge ``run`` (the same evidence is judged once)."""
        return self._judged(run, incomplete)[0]

    def scorecard(
        self, run: RunEvidence, incomplete: Sequence[str], ci_run: Mapping[str, str]
    ) -> dict[str, Any]:
        """The scorecard document for ``run``."""
        from .scorecard import build_scorecard

        assessment, adversarial = self._judged(run, incomplete)
        return build_scorecard(
            assessment,
            run=ci_run,
            adversarial=adversarial.rates,
            coverage=adversarial.coverage,
            warnings=adversarial.warnings,
            manifest_in_repository=self.manifest_in_repository,
        )
