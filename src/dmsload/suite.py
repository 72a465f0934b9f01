"""`dmsload suite`: the strategy's progression of profiles, one after another, with an overview.

Each profile runs to its end, prints its summary and writes its exports into the results
directory; a cool-down separates profiles. The suite stops at the first profile that does not
pass unless told to keep going, and always stops on an interrupt. It ends with one table of every
profile and exits with the worst status seen.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

from dmsload.dms.data import RunData
from dmsload.engine.runner import ExitCode, RunOptions, RunResult, run_profile
from dmsload.engine.workers import run_workers
from dmsload.jsonfiles import write_bytes_atomically, write_json_atomically
from dmsload.profile import Profile
from dmsload.run_report import ReportOptions, report_run
from dmsload.signals import Interrupted

DEFAULT_ORDER = (
    "baseline",
    "concurrent",
    "bulk-load",
    "mixed-crud",
    "query-performance",
    "spike",
    "sustained",
)
"""The strategy's progression."""

_SEVERITY = (
    ExitCode.OK,
    ExitCode.THRESHOLDS_FAILED,
    ExitCode.USAGE,
    ExitCode.CANNOT_PROCEED,
    ExitCode.INTERRUPTED,
)


def worst(codes: Sequence[ExitCode]) -> ExitCode:
    """The most severe status: interrupted > could not proceed > usage > thresholds > ok."""
    return max(codes, key=_SEVERITY.index, default=ExitCode.OK)


@dataclass(frozen=True)
class SuiteProfile:
    """One profile of the suite, loaded and validated."""

    name: str
    path: Path
    profile: Profile


@dataclass(frozen=True)
class ProfileFiles:
    """The files one profile of the suite writes into the results directory."""

    k6_summary: str
    summary_json: str
    junit: str

    @classmethod
    def of(cls, name: str) -> ProfileFiles:
        """`<name>.k6-summary.json`, `<name>.summary.json` and `<name>.junit.xml`."""
        return cls(f"{name}.k6-summary.json", f"{name}.summary.json", f"{name}.junit.xml")


@dataclass
class ProfileOutcome:
    """What one profile of the suite gave."""

    name: str
    path: Path
    exit_code: ExitCode
    files: ProfileFiles | None = None
    elapsed_s: float = 0.0
    requests: int = 0
    failed_rate: float | None = None
    p95_ms: float | None = None
    checks_rate: float | None = None
    thresholds_failed: int = 0
    thresholds_total: int = 0

    def to_json(self) -> dict[str, object]:
        """Its entry in `suite.json`."""
        return {
            "name": self.name,
            "profile": str(self.path),
            "summary": None if self.files is None else self.files.k6_summary,
            "summary_json": None if self.files is None else self.files.summary_json,
            "junit": None if self.files is None else self.files.junit,
            "exit_code": int(self.exit_code),
            "elapsed_s": round(self.elapsed_s, 3),
            "http_reqs": self.requests,
            "http_req_failed_rate": self.failed_rate,
            "http_req_duration_p95_ms": self.p95_ms,
            "checks_rate": self.checks_rate,
            "thresholds_failed": self.thresholds_failed,
            "thresholds_total": self.thresholds_total,
        }


@dataclass
class SuiteOptions:
    """How to run the suite."""

    results_dir: Path
    cooldown_s: float
    keep_going: bool = False
    seed: int | None = None
    run_options: RunOptions = field(default_factory=RunOptions)
    report: ReportOptions = field(default_factory=ReportOptions)
    workers: int = 1
    """Worker processes per profile (`--workers`); 1: the profile runs in this process."""


def outcome_of(name: str, path: Path, result: RunResult, code: ExitCode) -> ProfileOutcome:
    """The headline figures of one run."""
    outcome = ProfileOutcome(name=name, path=path, exit_code=code, elapsed_s=result.elapsed_s)
    registry = result.registry
    reqs = registry.view("http_reqs")
    outcome.requests = int(reqs.counter_total()) if reqs is not None else 0
    failed = registry.view("http_req_failed")
    if failed is not None:
        trues, samples = failed.rate_parts()
        outcome.failed_rate = trues / samples if samples else None
    duration = registry.view("http_req_duration")
    if duration is not None and duration.count:
        outcome.p95_ms = duration.percentile(95)
    checks = registry.view("checks")
    if checks is not None:
        trues, samples = checks.rate_parts()
        outcome.checks_rate = trues / samples if samples else None
    outcome.thresholds_total = len(result.thresholds)
    outcome.thresholds_failed = sum(1 for r in result.thresholds if r.ok is False)
    return outcome


class Suite:
    """Runs the profiles in order."""

    def __init__(
        self,
        profiles: Sequence[SuiteProfile],
        options: SuiteOptions,
        echo: Callable[[str], None],
    ) -> None:
        self.profiles = list(profiles)
        self.options = options
        self.echo = echo
        self.outcomes: list[ProfileOutcome] = []
        self.started = datetime.now(UTC)
        self.interrupted = False

    @property
    def not_run(self) -> list[str]:
        """The profiles the suite did not reach (it stopped early), in order."""
        return [item.name for item in self.profiles[len(self.outcomes) :]]

    def run(self) -> ExitCode:
        """Every profile (or up to the first failure); `suite.json` written on every path."""
        self.options.results_dir.mkdir(parents=True, exist_ok=True)
        try:
            for index, item in enumerate(self.profiles):
                if index and self.options.cooldown_s > 0:
                    self.echo(f"dmsload suite: cooling down for {self.options.cooldown_s:g} s")
                    time.sleep(self.options.cooldown_s)
                outcome = self._run_one(index, item)
                self.outcomes.append(outcome)
                if outcome.exit_code == ExitCode.INTERRUPTED:
                    break
                if outcome.exit_code != ExitCode.OK and not self.options.keep_going:
                    remaining = len(self.profiles) - index - 1
                    if remaining:
                        self.echo(
                            f"dmsload suite: {item.name} exited {int(outcome.exit_code)}; "
                            f"stopping ({remaining} profile(s) not run; --keep-going runs them)"
                        )
                    break
        except (KeyboardInterrupt, Interrupted):
            self.interrupted = True
            self.echo("dmsload suite: interrupted between profiles")
        finally:
            self._write_index()
        codes = [outcome.exit_code for outcome in self.outcomes]
        if self.interrupted:
            codes.append(ExitCode.INTERRUPTED)
        return worst(codes)

    def _run_one(self, index: int, item: SuiteProfile) -> ProfileOutcome:
        total = len(self.profiles)
        self.echo(f"\n━━ profile {index + 1}/{total}: {item.name} ({item.path})")
        run_data = RunData.create(seed=self.options.seed, salt=item.name)
        run_options = replace(
            self.options.run_options,
            run_data=run_data,
            timeline=True,
            # --start-at is when the suite starts: the first profile's t=0
            start_at=self.options.run_options.start_at if index == 0 else None,
        )
        results = self.options.results_dir
        names = ProfileFiles.of(item.name)
        report = ReportOptions(
            summary_export=results / names.k6_summary,
            summary_json=results / names.summary_json,
            junit=results / names.junit,
            summary_mode=self.options.report.summary_mode,
            no_color=self.options.report.no_color,
        )
        if self.options.workers > 1:
            result = run_workers(item.profile, run_options, self.options.workers)
        else:
            result = run_profile(item.profile, run_options)
        code = report_run(result, item.profile, report)
        outcome = outcome_of(item.name, item.path, result, code)
        outcome.files = names
        return outcome

    def _write_index(self) -> None:
        document = {
            "started": self.started.isoformat(timespec="seconds"),
            "ended": datetime.now(UTC).isoformat(timespec="seconds"),
            "profiles": [outcome.to_json() for outcome in self.outcomes],
            "not_run": self.not_run,
            "interrupted": self.interrupted,
        }
        write_json_atomically(self.options.results_dir / "suite.json", document)
        overview = f"### dmsload suite\n\n{overview_markdown(self.outcomes, self.not_run)}"
        write_bytes_atomically(self.options.results_dir / "overview.md", overview.encode())


_OVERVIEW_HEADER = (
    "profile",
    "status",
    "requests",
    "req/s",
    "failed",
    "p(95) ms",
    "checks",
    "thresholds",
)


def overview_rows(
    outcomes: Sequence[ProfileOutcome], not_run: Sequence[str] = ()
) -> list[tuple[str, ...]]:
    """The overview's header and one row per profile (those not run last), as text."""
    rows: list[tuple[str, ...]] = [_OVERVIEW_HEADER]
    for o in outcomes:
        rate = o.requests / o.elapsed_s if o.elapsed_s else 0.0
        rows.append(
            (
                o.name,
                _status_text(o.exit_code),
                f"{o.requests:,}",
                f"{rate:,.1f}",
                "-" if o.failed_rate is None else f"{o.failed_rate * 100:.2f}%",
                "-" if o.p95_ms is None else f"{o.p95_ms:,.2f}",
                "-" if o.checks_rate is None else f"{o.checks_rate * 100:.2f}%",
                f"{o.thresholds_total - o.thresholds_failed}/{o.thresholds_total} passed",
            )
        )
    rows.extend((name, "not run", *["-"] * (len(_OVERVIEW_HEADER) - 2)) for name in not_run)
    return rows


def overview_lines(outcomes: Sequence[ProfileOutcome], not_run: Sequence[str] = ()) -> list[str]:
    """The one-table overview of every profile, aligned for a terminal."""
    rows = overview_rows(outcomes, not_run)
    widths = [max(len(row[i]) for row in rows) for i in range(len(_OVERVIEW_HEADER))]
    lines = []
    for number, row in enumerate(rows):
        cells = [
            cell.ljust(width) if i < 2 else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
        if number == 0:
            lines.append("  ".join("-" * width for width in widths))
    return lines


def overview_markdown(outcomes: Sequence[ProfileOutcome], not_run: Sequence[str] = ()) -> str:
    """The overview as a GitHub-flavoured Markdown table (for a CI job summary)."""
    header, *body = overview_rows(outcomes, not_run)
    align = ["---", "---", *["---:"] * (len(header) - 2)]
    lines = [_md_row(header), _md_row(tuple(align)), *(_md_row(row) for row in body)]
    return "\n".join(lines) + "\n"


def _md_row(cells: tuple[str, ...]) -> str:
    return "| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |"


def _status_text(code: ExitCode) -> str:
    return {
        ExitCode.OK: "passed",
        ExitCode.THRESHOLDS_FAILED: "FAILED (99)",
        ExitCode.USAGE: "bad usage (2)",
        ExitCode.CANNOT_PROCEED: "ERROR (1)",
        ExitCode.INTERRUPTED: "interrupted (105)",
    }[code]
