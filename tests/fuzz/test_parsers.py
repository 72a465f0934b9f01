"""Fuzzing the parsers that take user text: every input parses, or raises dmsload's own error
(which the CLI turns into one line), never anything else.

Each property is bounded (max_examples, a per-example deadline); the whole module runs in
well under 30 s. Hypothesis keeps no example database, so no run depends on an earlier one.
"""

from __future__ import annotations

import math
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dmsload.compare.rules import RuleError, parse_rule
from dmsload.durations import (
    MAX_DURATION_NS,
    DurationError,
    format_duration,
    parse_duration_ns,
)
from dmsload.engine.executors import EXECUTORS
from dmsload.metrics import ThresholdError, parse_metric_selector, parse_threshold
from dmsload.profile import (
    Profile,
    ProfileError,
    apply_overrides,
    expand_env,
    load_profile,
    profile_from_mapping,
)
from dmsload.workloads import builtin_workloads

PROFILES = settings(
    max_examples=120,
    deadline=2000,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
BOUNDED = settings(
    max_examples=200,
    deadline=2000,  # ms per example: generous, the machine is shared
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
WORKLOADS = builtin_workloads()

# ---- durations ------------------------------------------------------------------------------

UNITS = ["ns", "us", "µs", "μs", "ms", "s", "m", "h", "d", "", "x", "S", "sec"]
NUMBERS = st.one_of(
    st.integers(0, 10**30).map(str),
    st.floats(0, 1e6, allow_nan=False).map(lambda f: f"{f:.3f}"),
    st.sampled_from(["0", ".5", "5.", "-1", "+1", "1e3", "nan", "inf", "9" * 400, "", " "]),
)
DURATION_TEXT = st.one_of(
    st.text(max_size=30),
    st.lists(st.tuples(NUMBERS, st.sampled_from(UNITS)), max_size=4).map(
        lambda parts: "".join(n + u for n, u in parts)
    ),
)


@BOUNDED
@given(DURATION_TEXT)
def test_durations_parse_or_raise_duration_error(text: str) -> None:
    try:
        ns = parse_duration_ns(text)
    except DurationError:
        return
    assert isinstance(ns, int) and ns >= 0


@BOUNDED
@given(st.integers(0, MAX_DURATION_NS // 1_000_000))
def test_whole_milliseconds_round_trip(ms: int) -> None:
    """What dmsload prints as a duration reads back as the same duration."""
    ns = ms * 1_000_000
    assert parse_duration_ns(format_duration(ns)) == ns


# ---- thresholds -----------------------------------------------------------------------------

AGGREGATIONS = [
    "avg",
    "min",
    "max",
    "med",
    "count",
    "rate",
    "value",
    "p(95)",
    "p(99.9)",
    "p(101)",
    "p(-1)",
    "p()",
    "p95",
    "p(1e2)",
    "P(95)",
    "avg()",
    "",
]
OPERATORS = ["<", "<=", ">", ">=", "==", "===", "!=", "=", "<>", "=<", ""]
VALUES = [
    "500",
    "0.01",
    "-1",
    "1e3",
    "1e309",
    "inf",
    "-inf",
    "nan",
    "NaN",
    "0x10",
    "1_000",
    "",
    "fast",
    "+5",
    ".5",
]
THRESHOLD_TEXT = st.one_of(
    st.text(max_size=40),
    st.tuples(
        st.sampled_from(AGGREGATIONS),
        st.sampled_from(["", " ", "\t"]),
        st.sampled_from(OPERATORS),
        st.sampled_from(["", " "]),
        st.one_of(st.sampled_from(VALUES), st.text(max_size=8)),
    ).map("".join),
)


@BOUNDED
@given(THRESHOLD_TEXT)
def test_thresholds_parse_or_raise_threshold_error(text: str) -> None:
    try:
        threshold = parse_threshold(text)
    except ThresholdError:
        return
    assert math.isfinite(threshold.value)
    assert threshold.passes(threshold.value) in (True, False)


SELECTOR_TEXT = st.one_of(
    st.text(max_size=40),
    st.tuples(
        st.sampled_from(["http_req_duration", "my_metric", "1bad", "", "a-b", "é"]),
        st.sampled_from(["", "{", "{}", "{scenario:s}", "{a:b,c:d}", "{:x}", "{a}", "{a:b", "}"]),
        st.text(max_size=6),
    ).map("".join),
)


@BOUNDED
@given(SELECTOR_TEXT)
def test_metric_selectors_parse_or_raise_threshold_error(text: str) -> None:
    try:
        name, tags = parse_metric_selector(text)
    except ThresholdError:
        return
    assert name and isinstance(tags, tuple)


# ---- --fail-on rules ------------------------------------------------------------------------

RULE_SELECTORS = [
    "",
    "http_req_duration:",
    "http_req_failed:",
    "http_reqs:",
    "http_req_duration{name:*}:",
    "http_req_duration{name:GET /x}:",
    "{",
    "a{b:c:",
    "x{}:",
    "1bad:",
    "dropped_iterations:",
    "iterations:",
]
RULE_STATS = [
    "p(95)",
    "p(50)",
    "p95",
    "avg",
    "med",
    "min",
    "max",
    "count",
    "rate",
    "rps",
    "p(101)",
    "value",
    "",
]
RULE_CHANGES = [
    "+10%",
    "-10%",
    "10%",
    "+20ms",
    "+0.5s",
    "+1pp",
    "+0.01",
    "-5",
    "+0",
    "+inf",
    "+nan",
    "+1e400",
    "+" + "9" * 400 + "%",
    "",
    "+",
    "%",
    "+10kg",
    "+.5",
]
RULE_TEXT = st.one_of(
    st.text(max_size=40),
    st.tuples(
        st.sampled_from(RULE_SELECTORS),
        st.sampled_from(RULE_STATS),
        st.sampled_from(OPERATORS),
        st.one_of(st.sampled_from(RULE_CHANGES), st.text(max_size=6)),
    ).map("".join),
)


@BOUNDED
@given(RULE_TEXT)
def test_fail_on_rules_parse_or_raise_rule_error(text: str) -> None:
    try:
        rule = parse_rule(text)
    except RuleError:
        return
    assert rule is not None


# ---- profiles -------------------------------------------------------------------------------

KEYS = [
    "name",
    "description",
    "tags",
    "vus",
    "duration",
    "iterations",
    "stages",
    "workload",
    "exec",
    "options",
    "scenarios",
    "thresholds",
    "summary_trend_stats",
    "request_timeout",
    "executor",
    "rate",
    "time_unit",
    "timeUnit",
    "pre_allocated_vus",
    "preAllocatedVUs",
    "max_vus",
    "start_vus",
    "start_rate",
    "target",
    "start_time",
    "graceful_stop",
    "max_duration",
    "url",
    "method",
    "resource",
    "think_time",
    "seeded_schools",
    "threshold",
    "abort_on_fail",
    "delay_abort_eval",
    "expect_status",
    "body",
    "headers",
]
TEXTS = [
    "1s",
    "30s",
    "0",
    "0s",
    "-1s",
    "1h30m",
    "p(95)<500",
    "rate<0.01",
    "http",
    "create",
    "http://127.0.0.1:9/",
    "/x",
    "students",
    "${DMSLOAD_FUZZ_UNSET}",
    "${X:-2s}",
    "${X:-}",
    "${",
    "$" + "{1}",
    *EXECUTORS,
    "externally-controlled",
]
SCALARS = st.one_of(
    st.sampled_from(TEXTS),
    st.text(max_size=12),
    st.integers(-(2**64), 2**64),
    st.floats(),
    st.booleans(),
    st.dates(),
    st.datetimes(),
    st.times(),
)
KEY = st.one_of(st.sampled_from(KEYS), st.text(max_size=8))
VALUE = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEY, inner, max_size=5),
    max_leaves=8,
)
SCENARIO = st.fixed_dictionaries(
    {"executor": st.one_of(st.sampled_from([*EXECUTORS, "nope"]), VALUE)},
    optional={key: VALUE for key in KEYS if key not in ("scenarios", "thresholds", "executor")}
    | {"workload": st.sampled_from(sorted(WORKLOADS))},
)
THRESHOLD_ENTRY = st.one_of(
    THRESHOLD_TEXT,
    st.fixed_dictionaries(
        {"threshold": THRESHOLD_TEXT},
        optional={"abort_on_fail": VALUE, "delay_abort_eval": VALUE, "x": VALUE},
    ),
    VALUE,
)
DOCUMENT = st.fixed_dictionaries(
    {},
    optional={
        **{key: VALUE for key in KEYS if key not in ("scenarios", "thresholds")},
        "scenarios": st.one_of(
            st.dictionaries(st.sampled_from(["s", "t", "a b", ""]), SCENARIO, max_size=2), VALUE
        ),
        "thresholds": st.one_of(
            st.dictionaries(SELECTOR_TEXT, st.lists(THRESHOLD_ENTRY, max_size=3), max_size=3),
            VALUE,
        ),
        "workload": st.sampled_from(sorted(WORKLOADS)),
    },
)


@PROFILES
@given(
    DOCUMENT,
    st.dictionaries(st.sampled_from(["X", "D"]), st.sampled_from(["1s", "ten", ""]), max_size=2),
    st.one_of(st.none(), st.integers(-1, 5)),
    st.one_of(st.none(), st.integers(-(10**9), 10**15)),
    st.floats(min_value=1e-9, max_value=1e6),
)
def test_profile_documents_load_or_raise_profile_error(
    document: dict[str, Any],
    env: dict[str, str],
    vus: int | None,
    duration_ns: int | None,
    time_scale: float,
) -> None:
    """A parsed TOML document (any shape), its ${VAR}s, the CLI's overrides and --time-scale."""
    expanded, issues = expand_env(document, env)
    if issues:
        return
    try:
        profile = profile_from_mapping(expanded, WORKLOADS, source="fuzz.toml")
        profile = apply_overrides(profile, vus=vus, duration_ns=duration_ns)
    except ProfileError as exc:
        assert exc.lines() and all("\n" not in line for line in exc.lines())
        return
    scaled = profile.scaled(time_scale)
    assert isinstance(scaled, Profile)
    assert scaled.total_duration_ns() >= 0


TOML_PIECES = [
    "[scenarios.s]\n",
    "[thresholds]\n",
    'executor = "constant-vus"\n',
    "vus = 1\n",
    'duration = "1s"\n',
    'workload = "http"\n',
    'options = { url = "http://127.0.0.1:9/" }\n',
    'http_req_duration = ["p(95)<1"]\n',
    "[[stages]]\n",
    "x = \n",
    '"',
    "'''",
    "[",
    "]",
    "=",
    "\n",
    "# c\n",
    "\\u0000",
    "inf",
    "1979-05-27T07:32:00Z",
    "${X}",
]


@BOUNDED
@given(
    st.one_of(st.text(max_size=200), st.lists(st.sampled_from(TOML_PIECES)).map("".join)),
    st.binary(max_size=8),
)
def test_profile_files_load_or_raise_profile_error(text: str, junk: bytes) -> None:
    """Any bytes as a profile file: TOML syntax, encodings, ${VAR}s and then validation."""
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "fuzz.toml"
        path.write_bytes(text.encode("utf-8", "surrogatepass") + junk)
        try:
            load_profile(path, WORKLOADS, env={})
        except ProfileError as exc:
            assert exc.lines()
