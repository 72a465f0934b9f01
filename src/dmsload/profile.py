"""TOML scenario profiles: pydantic models, k6's shortcuts, errors naming file, key and value."""

from __future__ import annotations

import hashlib
import json
import os
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, ValidationError

from dmsload.dms.overrides import DocumentOverrides
from dmsload.durations import NS_PER_S, format_duration
from dmsload.engine.executors import (
    EXECUTORS,
    REMOVED_EXECUTORS,
    ConstantVUsConfig,
    ExecutorConfig,
    PerVUIterationsConfig,
    RampingVUsConfig,
    ScenarioConfig,
    SharedIterationsConfig,
    Stage,
)
from dmsload.engine.executors.base import SCENARIO_NAME, Duration
from dmsload.engine.segments import SegmentChoice
from dmsload.metrics import (
    BUILTIN_KINDS,
    MetricKind,
    Threshold,
    ThresholdError,
    check_aggregation,
    parse_metric_selector,
    parse_threshold,
)
from dmsload.workloads import WorkloadSpec

DEFAULT_TREND_STATS = ("avg", "min", "med", "max", "p(90)", "p(95)", "p(99)")
_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
_TREND_STAT = re.compile(r"^(avg|min|med|max|count|p\((\d+(\.\d+)?)\))$")


@dataclass(frozen=True)
class ProfileIssue:
    """One problem in a profile: where (key path), what, and the offending value."""

    path: str
    message: str
    value: object = None
    has_value: bool = True

    def render(self, source: str) -> str:
        """One line: `file: key.path: message (got value)`; the value is shown once, also
        when the message (a validator's) already ends with it."""
        where = f"{source}: {self.path}: " if self.path else f"{source}: "
        got = f" (got {self.value!r})" if self.has_value else ""
        if got and self.message.endswith(got):
            got = ""
        return f"{where}{self.message}{got}"


class ProfileError(Exception):
    """A profile that cannot run; carries every problem found at once."""

    def __init__(self, source: str, issues: Sequence[ProfileIssue]) -> None:
        self.source = source
        self.issues = list(issues)
        super().__init__("\n".join(self.lines()))

    def lines(self) -> list[str]:
        """One line per problem."""
        return [issue.render(self.source) for issue in self.issues]


class _ThresholdSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    threshold: str
    abort_on_fail: bool = Field(
        False, validation_alias=AliasChoices("abort_on_fail", "abortOnFail")
    )
    delay_abort_eval: Duration | None = Field(
        None, validation_alias=AliasChoices("delay_abort_eval", "delayAbortEval")
    )


class _ProfileModel(BaseModel):
    """The raw TOML document, as validated by pydantic."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    name: str | None = None
    description: str | None = None
    tags: dict[str, str] = Field(default_factory=dict)
    summary_trend_stats: list[str] | None = Field(
        None, validation_alias=AliasChoices("summary_trend_stats", "summaryTrendStats")
    )
    request_timeout: Duration = Field(
        60 * NS_PER_S, validation_alias=AliasChoices("request_timeout", "requestTimeout")
    )
    vus: int | None = Field(None, ge=1)
    duration: Duration | None = None
    iterations: int | None = Field(None, ge=1)
    stages: list[Stage] | None = None
    workload: str | None = Field(None, validation_alias=AliasChoices("workload", "exec"))
    options: dict[str, Any] | None = None
    scenarios: dict[str, ScenarioConfig] = Field(default_factory=dict)
    thresholds: dict[str, list[str | _ThresholdSpec]] = Field(default_factory=dict)
    documents: dict[str, DocumentOverrides] = Field(default_factory=dict)


@dataclass(frozen=True)
class Scenario:
    """A validated scenario: its executor config, workload and the workload's options."""

    name: str
    config: ExecutorConfig
    workload: WorkloadSpec
    options: BaseModel


@dataclass(frozen=True)
class Profile:
    """A profile that is ready to run."""

    source: str
    name: str
    description: str | None
    sha256: str
    scenarios: dict[str, Scenario]
    thresholds: dict[str, list[Threshold]]
    summary_trend_stats: tuple[str, ...]
    tags: dict[str, str]
    request_timeout_ns: int
    time_scale: float = 1.0
    custom_metrics: dict[str, MetricKind] = field(default_factory=dict)
    segment: SegmentChoice | None = None
    """The execution segment this process runs (`--execution-segment`); None: the whole."""
    documents: dict[str, DocumentOverrides] = field(default_factory=dict)
    """`[documents.<resource>]`: changes to the documents DMS workloads generate."""

    @property
    def uses_dms(self) -> bool:
        """A scenario runs a DMS workload: the run needs client credentials (and a DMS)."""
        return any(s.workload.uses_dms for s in self.scenarios.values())

    def total_duration_ns(self) -> int:
        """When the last scenario ends at the latest (start_time + duration + graceful_stop)."""
        return max(
            (s.config.start_time + s.config.total_duration_ns() for s in self.scenarios.values()),
            default=0,
        )

    def scaled(self, factor: float) -> Profile:
        """Every duration multiplied by `factor` (`--time-scale`); rates stay the same."""
        if factor == 1.0:
            return self
        scenarios = {
            name: replace(s, config=s.config.scaled(factor)) for name, s in self.scenarios.items()
        }
        thresholds = {
            selector: [
                t
                if t.delay_abort_eval_s is None
                else replace(t, delay_abort_eval_s=t.delay_abort_eval_s * factor)
                for t in rules
            ]
            for selector, rules in self.thresholds.items()
        }
        return replace(
            self, scenarios=scenarios, thresholds=thresholds, time_scale=self.time_scale * factor
        )

    def for_segment(self, choice: SegmentChoice) -> Profile:
        """The part of the profile one execution segment runs: every scenario's share."""
        scenarios = {
            name: replace(s, config=s.config.for_part(choice.part))
            for name, s in self.scenarios.items()
        }
        return replace(self, scenarios=scenarios, segment=choice)


# ---- loading ----------------------------------------------------------------------------


def expand_env(
    value: Any, env: Mapping[str, str], path: list[int | str] | None = None
) -> tuple[Any, list[ProfileIssue]]:
    """Replace `${NAME}` and `${NAME:-default}` in every string of a parsed document."""
    path = path or []
    issues: list[ProfileIssue] = []
    if isinstance(value, str):

        def sub(match: re.Match[str]) -> str:
            name, default = match.group(1), match.group(2)
            if name in env:
                return env[name]
            if default is not None:
                return default
            issues.append(
                ProfileIssue(
                    _format_loc(path),
                    f"environment variable {name} is not set (write ${{{name}:-default}} "
                    "to give a default)",
                    value,
                )
            )
            return match.group(0)

        return _ENV_REF.sub(sub, value), issues
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            out[key], found = expand_env(item, env, [*path, key])
            issues.extend(found)
        return out, issues
    if isinstance(value, list):
        items = []
        for i, item in enumerate(value):
            new, found = expand_env(item, env, [*path, i])
            items.append(new)
            issues.extend(found)
        return items, issues
    return value, issues


def _format_loc(loc: Sequence[int | str]) -> str:
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        elif re.fullmatch(r"[A-Za-z0-9_-]+", item):
            parts.append(("." if parts else "") + item)
        else:  # quoted as TOML writes such a key: escapes keep the message on one line
            parts.append(("." if parts else "") + json.dumps(item, ensure_ascii=False))
    return "".join(parts)


def _clean_loc(loc: Sequence[int | str]) -> list[int | str]:
    """Drop the discriminator tags pydantic inserts (`scenarios.x.ramping-vus.stages`)."""
    out: list[int | str] = []
    for i, item in enumerate(loc):
        if i == 2 and len(loc) > 2 and loc[0] == "scenarios" and item in EXECUTORS:
            continue
        if isinstance(item, str) and item in ("str", "_ThresholdSpec") and loc[0] == "thresholds":
            continue
        out.append(item)
    return out


def _issues_from_validation(
    error: ValidationError, prefix: Sequence[int | str] = ()
) -> list[ProfileIssue]:
    issues = []
    for err in error.errors():
        kind = err["type"]
        raw_loc = err["loc"]
        if raw_loc and raw_loc[0] == "thresholds" and len(raw_loc) > 3:
            # str | table union: report only the branch that matches what was written
            if raw_loc[3] == "str" and not isinstance(err.get("input"), str):
                continue
            # (an error inside the table's keys has a longer loc: the entry was a table)
            if (
                raw_loc[3] == "_ThresholdSpec"
                and len(raw_loc) == 4
                and isinstance(err.get("input"), str)
            ):
                continue
        loc = [*prefix, *_clean_loc(raw_loc)]
        message = err["msg"]
        if kind == "missing":
            issues.append(ProfileIssue(_format_loc(loc), "is required", has_value=False))
        elif kind == "extra_forbidden":
            issues.append(ProfileIssue(_format_loc(loc), "unknown key", err["input"]))
        elif kind == "union_tag_invalid":
            tag = err.get("ctx", {}).get("tag")
            issues.append(
                ProfileIssue(
                    _format_loc([*loc, "executor"]),
                    "unknown executor; use one of " + ", ".join(EXECUTORS),
                    tag,
                )
            )
        elif kind == "union_tag_not_found":
            issues.append(
                ProfileIssue(
                    _format_loc([*loc, "executor"]),
                    "is required; use one of " + ", ".join(EXECUTORS),
                    has_value=False,
                )
            )
        else:
            message = message.removeprefix("Value error, ")
            issues.append(ProfileIssue(_format_loc(loc), message, err.get("input")))
    return issues


def _shortcut_scenario(model: _ProfileModel) -> tuple[dict[str, Any] | None, list[ProfileIssue]]:
    """k6's execution shortcuts: top-level vus/duration/iterations/stages → one scenario."""
    issues: list[ProfileIssue] = []
    vus = model.vus
    if model.iterations is not None:
        if model.stages is not None:
            issues.append(ProfileIssue("stages", "can't be used together with iterations", "…"))
        cfg: dict[str, Any] = {
            "executor": "shared-iterations",
            "vus": vus or 1,
            "iterations": model.iterations,
        }
        if model.duration is not None:
            cfg["max_duration"] = model.duration
        return cfg, issues
    if model.duration is not None:
        if model.stages is not None:
            issues.append(ProfileIssue("stages", "can't be used together with duration", "…"))
        return {"executor": "constant-vus", "vus": vus or 1, "duration": model.duration}, issues
    if model.stages is not None:
        return {"executor": "ramping-vus", "start_vus": vus or 1, "stages": model.stages}, issues
    if vus is not None:
        issues.append(ProfileIssue("vus", "needs duration, iterations or stages", vus))
    return None, issues


def _build_shortcut(cfg: dict[str, Any], model: _ProfileModel) -> ExecutorConfig:
    kind = cfg.pop("executor")
    classes: dict[str, type[ExecutorConfig]] = {
        "shared-iterations": SharedIterationsConfig,
        "constant-vus": ConstantVUsConfig,
        "ramping-vus": RampingVUsConfig,
        "per-vu-iterations": PerVUIterationsConfig,
    }
    cls = classes[kind]
    values: dict[str, Any] = {
        **{k: v.default for k, v in cls.model_fields.items() if not v.is_required()},
        **cfg,
        "executor": kind,
        "tags": {},
        "workload": None,
        "options": None,
    }
    return cls.model_construct(**values)


def _check_trend_stats(stats: Sequence[str]) -> list[ProfileIssue]:
    issues = []
    for i, stat in enumerate(stats):
        match = _TREND_STAT.match(stat.strip())
        if not match or (match.group(2) and not 0 <= float(match.group(2)) <= 100):
            issues.append(
                ProfileIssue(
                    f"summary_trend_stats[{i}]",
                    "use avg, min, med, max, count or p(N) with 0 <= N <= 100",
                    stat,
                )
            )
    return issues


def _parse_thresholds(
    raw: Mapping[str, list[str | _ThresholdSpec]], kinds: Mapping[str, MetricKind]
) -> tuple[dict[str, list[Threshold]], list[ProfileIssue]]:
    parsed: dict[str, list[Threshold]] = {}
    issues: list[ProfileIssue] = []
    for selector, entries in raw.items():
        key = _format_loc(["thresholds", selector])
        try:
            metric_name, _tags = parse_metric_selector(selector)
        except ThresholdError as exc:
            issues.append(ProfileIssue(key, str(exc), selector))
            continue
        kind = kinds.get(metric_name)
        if kind is None:
            issues.append(
                ProfileIssue(
                    key, f"unknown metric {metric_name!r}; no workload here emits it", selector
                )
            )
            continue
        rules: list[Threshold] = []
        for i, entry in enumerate(entries):
            spec = entry if isinstance(entry, _ThresholdSpec) else _ThresholdSpec(threshold=entry)
            where = f"{key}[{i}]"
            try:
                threshold = parse_threshold(
                    spec.threshold,
                    abort_on_fail=spec.abort_on_fail,
                    delay_abort_eval_s=(
                        None if spec.delay_abort_eval is None else spec.delay_abort_eval / NS_PER_S
                    ),
                )
            except ThresholdError as exc:
                issues.append(ProfileIssue(where, str(exc), spec.threshold))
                continue
            problem = check_aggregation(kind, threshold)
            if problem:
                issues.append(ProfileIssue(where, problem, spec.threshold))
                continue
            rules.append(threshold)
        parsed[selector] = rules
    return parsed, issues


def _threshold_issues_alone(
    document: Mapping[str, Any], workloads: Mapping[str, WorkloadSpec]
) -> list[ProfileIssue]:
    """Threshold problems in a document that failed validation elsewhere, so that every
    problem is reported at once; entries that are themselves malformed are skipped."""
    raw = document.get("thresholds")
    if not isinstance(raw, dict):
        return []
    kinds: dict[str, MetricKind] = dict(BUILTIN_KINDS)
    for spec in workloads.values():
        for metric, (kind, _contains) in spec.metrics.items():
            kinds.setdefault(metric, kind)
    usable: dict[str, list[str | _ThresholdSpec]] = {}
    for selector, entries in raw.items():
        if not isinstance(selector, str) or not isinstance(entries, list):
            continue
        items: list[str | _ThresholdSpec] = []
        for entry in entries:
            if isinstance(entry, str):
                items.append(entry)
                continue
            try:
                items.append(_ThresholdSpec.model_validate(entry))
            except ValidationError:
                continue
        usable[selector] = items
    return _parse_thresholds(usable, kinds)[1]


def load_profile(
    path: Path,
    workloads: Mapping[str, WorkloadSpec],
    env: Mapping[str, str] | None = None,
) -> Profile:
    """Read, validate and resolve a profile; raise ProfileError listing every problem.

    `${VAR}` references are resolved from the process environment, overlaid with `env`
    (the CLI's `-e KEY=VALUE`).
    """
    source = str(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ProfileError(
            source, [ProfileIssue("", f"cannot read the profile: {exc.strerror}", has_value=False)]
        ) from None
    try:
        document = tomllib.loads(data.decode("utf-8-sig"))  # a BOM (Windows editors) is fine
        document, env_issues = expand_env(document, {**os.environ, **(env or {})})
        if env_issues:
            raise ProfileError(source, env_issues)
        return profile_from_mapping(
            document, workloads, source=source, sha256=hashlib.sha256(data).hexdigest()
        )
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ProfileError(
            source, [ProfileIssue("", f"invalid TOML: {exc}", has_value=False)]
        ) from None
    except RecursionError:
        raise ProfileError(
            source, [ProfileIssue("", "arrays or tables nested too deeply", has_value=False)]
        ) from None


def profile_from_mapping(
    document: Mapping[str, Any],
    workloads: Mapping[str, WorkloadSpec],
    *,
    source: str = "<profile>",
    sha256: str = "",
) -> Profile:
    """Validate an already-parsed profile document."""
    issues: list[ProfileIssue] = []
    raw_scenarios = document.get("scenarios")
    if isinstance(raw_scenarios, dict):
        for name, raw in raw_scenarios.items():
            executor = raw.get("executor") if isinstance(raw, dict) else None
            if isinstance(executor, str) and executor in REMOVED_EXECUTORS:
                issues.append(
                    ProfileIssue(
                        f"scenarios.{name}.executor",
                        REMOVED_EXECUTORS[raw["executor"]],
                        raw["executor"],
                    )
                )
        if issues:
            raise ProfileError(source, issues)
    try:
        model = _ProfileModel.model_validate(document)
    except ValidationError as exc:
        found = _issues_from_validation(exc)
        seen = {issue.path for issue in found}
        found += [i for i in _threshold_issues_alone(document, workloads) if i.path not in seen]
        raise ProfileError(source, found) from None

    configs: dict[str, ExecutorConfig] = dict(model.scenarios)
    shortcut, shortcut_issues = _shortcut_scenario(model)
    issues.extend(shortcut_issues)
    if shortcut is not None:
        if configs:
            issues.append(
                ProfileIssue(
                    "scenarios",
                    "use either [scenarios] or the top-level vus/duration/iterations/stages "
                    "shortcuts, not both",
                    list(configs),
                )
            )
        else:
            configs["default"] = _build_shortcut(shortcut, model)
    if not configs and not shortcut_issues:
        issues.append(
            ProfileIssue(
                "scenarios",
                "no scenario: add a [scenarios.NAME] table or top-level vus and duration",
                has_value=False,
            )
        )

    scenarios: dict[str, Scenario] = {}
    custom: dict[str, MetricKind] = {}
    unresolved = False  # a scenario names no workload or an unknown one: its metrics unknown
    for name, config in configs.items():
        base = f"scenarios.{name}" if name in model.scenarios else ""
        if not SCENARIO_NAME.match(name):
            issues.append(
                ProfileIssue(
                    f"scenarios.{name}",
                    "scenario names may only use letters, digits, _ and -",
                    name,
                )
            )
        for key, message, value in config.rule_errors():
            issues.append(ProfileIssue(f"{base}.{key}" if base else key, message, value))
        workload_name = config.workload or model.workload
        workload_key = f"{base}.workload" if base and config.workload else "workload"
        if workload_name is None:
            issues.append(
                ProfileIssue(
                    workload_key,
                    "is required; available: " + ", ".join(sorted(workloads)),
                    has_value=False,
                )
            )
            unresolved = True
            continue
        spec = workloads.get(workload_name)
        if spec is None:
            issues.append(
                ProfileIssue(
                    workload_key,
                    "unknown workload; available: " + ", ".join(sorted(workloads)),
                    workload_name,
                )
            )
            unresolved = True
            continue
        raw_options = config.options if config.options is not None else (model.options or {})
        options_prefix: list[int | str] = (
            ["scenarios", name, "options"] if base and config.options is not None else ["options"]
        )
        # The workload is known: its metrics exist for the thresholds even when its
        # options are invalid (those are reported on their own).
        for metric, (kind, _contains) in spec.metrics.items():
            custom[metric] = kind
        try:
            options = spec.options_model.model_validate(raw_options)
        except ValidationError as exc:
            issues.extend(_issues_from_validation(exc, options_prefix))
            continue
        scenarios[name] = Scenario(name, config, spec, options)

    trend_stats = tuple(model.summary_trend_stats or DEFAULT_TREND_STATS)
    issues.extend(_check_trend_stats(trend_stats))
    kinds = {**BUILTIN_KINDS, **custom}
    if unresolved:  # judge thresholds as if the scenario ran any workload: no false errors
        for other in workloads.values():
            for metric, (kind, _contains) in other.metrics.items():
                kinds.setdefault(metric, kind)
    thresholds, threshold_issues = _parse_thresholds(model.thresholds, kinds)
    issues.extend(threshold_issues)
    if issues:
        raise ProfileError(source, issues)
    return Profile(
        source=source,
        name=model.name or Path(source).stem,
        description=model.description,
        sha256=sha256,
        scenarios=scenarios,
        thresholds=thresholds,
        summary_trend_stats=trend_stats,
        tags=dict(model.tags),
        request_timeout_ns=model.request_timeout,
        custom_metrics=custom,
        documents=dict(model.documents),
    )


def apply_run_options(
    profile: Profile,
    *,
    tags: Mapping[str, str] | None = None,
    trend_stats: Sequence[str] | None = None,
    no_thresholds: bool = False,
) -> Profile:
    """The CLI's `--tag`, `--summary-trend-stats` and `--no-thresholds`, as k6 has them."""
    changes: dict[str, Any] = {}
    if tags:
        changes["tags"] = {**profile.tags, **tags}
    if trend_stats is not None:
        stats = tuple(stat.strip() for stat in trend_stats if stat.strip())
        issues = [
            ProfileIssue("--summary-trend-stats", issue.message, issue.value)
            for issue in _check_trend_stats(stats)
        ]
        if not stats:
            issues.append(ProfileIssue("--summary-trend-stats", "names no statistic", ""))
        if issues:
            raise ProfileError(profile.source, issues)
        changes["summary_trend_stats"] = stats
    if no_thresholds:
        changes["thresholds"] = {}
    return replace(profile, **changes) if changes else profile


def apply_overrides(
    profile: Profile,
    *,
    vus: int | None = None,
    duration_ns: int | None = None,
    iterations: int | None = None,
) -> Profile:
    """`--vus/--duration/--iterations` on a one-scenario profile, with k6's shortcut rules."""
    if vus is None and duration_ns is None and iterations is None:
        return profile
    flags = "--vus/--duration/--iterations"
    if len(profile.scenarios) != 1:
        raise ProfileError(
            profile.source,
            [
                ProfileIssue(
                    "scenarios",
                    f"{flags} only apply to a profile with one scenario",
                    list(profile.scenarios),
                )
            ],
        )
    ((name, scenario),) = profile.scenarios.items()
    old = scenario.config
    keep: dict[str, Any] = {
        "start_time": old.start_time,
        "graceful_stop": old.graceful_stop,
        "tags": old.tags,
        "workload": old.workload,
        "options": old.options,
    }
    old_vus = getattr(old, "vus", None) or getattr(old, "start_vus", None) or 1
    new_vus = vus or old_vus
    config: ExecutorConfig
    if iterations is not None:
        max_duration: int = duration_ns or getattr(old, "max_duration", None) or 600 * NS_PER_S
        config = SharedIterationsConfig.model_construct(
            executor="shared-iterations",
            vus=new_vus,
            iterations=iterations,
            max_duration=max_duration,
            **keep,
        )
    elif duration_ns is not None:
        config = ConstantVUsConfig.model_construct(
            executor="constant-vus", vus=new_vus, duration=duration_ns, **keep
        )
    elif isinstance(old, ConstantVUsConfig | SharedIterationsConfig | PerVUIterationsConfig):
        config = old.model_copy(update={"vus": new_vus})
    elif isinstance(old, RampingVUsConfig):
        config = old.model_copy(update={"start_vus": new_vus})
    else:
        raise ProfileError(
            profile.source,
            [
                ProfileIssue(
                    f"scenarios.{name}.executor",
                    "--vus alone does not apply to an arrival-rate executor; "
                    "set pre_allocated_vus/max_vus in the profile",
                    old.kind,
                )
            ],
        )
    issues = [
        ProfileIssue(f"--{key.replace('_', '-')}", msg, value)
        for key, msg, value in config.rule_errors()
    ]
    if iterations is not None and iterations < new_vus:
        pass  # reported by rule_errors above
    if issues:
        raise ProfileError(profile.source, issues)
    return replace(profile, scenarios={name: replace(scenario, config=config)})


def describe_duration(ns: int) -> str:
    """Shorthand re-export for the CLI."""
    return format_duration(ns)
