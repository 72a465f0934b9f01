"""The bad-input table: malformed profiles, settings and command lines, and what each must say."""

from __future__ import annotations

from dataclasses import dataclass, field

#: A valid scenario: the http workload against a port nothing listens on (never started here).
SCENARIO = """
[scenarios.s]
executor = "constant-vus"
vus = 1
duration = "1s"
workload = "http"
options = { url = "http://127.0.0.1:9/x" }
"""

#: A DMS workload: needs client credentials before anything is sent.
DMS_SCENARIO = """
[scenarios.s]
executor = "constant-vus"
vus = 1
duration = "1s"
workload = "create"
options = { resource = "students" }
"""

GOOD_CREDENTIALS = '{"key": "k", "secret": "s"}'


@dataclass(frozen=True)
class Case:
    """One bad input: the command line (in a fresh directory holding `files`), the settings
    in the environment, the exit status, and what its one line on stderr must contain."""

    id: str
    argv: tuple[str, ...]
    expect: tuple[str, ...]
    files: dict[str, str | bytes] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    code: int = 2


def profile(
    id: str, body: str, *expect: str, command: str = "validate", extra: tuple[str, ...] = ()
) -> Case:
    """A profile case: `body` as p.toml, checked by `validate` (or `run`)."""
    return Case(id, (command, "p.toml", *extra), ("p.toml", *expect), {"p.toml": body})


def scenario(id: str, changes: str, *expect: str) -> Case:
    """The valid scenario with `changes` appended to its table."""
    return profile(id, SCENARIO + changes, *expect)


def executor(id: str, table: str, *expect: str) -> Case:
    """A scenario `s` running the http workload with the given executor keys."""
    body = (
        "[scenarios.s]\n"
        + table
        + '\nworkload = "http"\noptions = { url = "http://127.0.0.1:9/x" }\n'
    )
    return profile(id, body, *expect)


def threshold(id: str, line: str, *expect: str) -> Case:
    """The valid scenario plus one `[thresholds]` line."""
    return profile(id, SCENARIO + "\n[thresholds]\n" + line + "\n", *expect)


def http_options(id: str, options: str, *expect: str) -> Case:
    """The http workload with these options."""
    body = (
        '[scenarios.s]\nexecutor = "constant-vus"\nvus = 1\nduration = "1s"\n'
        f'workload = "http"\noptions = {{ {options} }}\n'
    )
    return profile(id, body, *expect)


PROFILES: list[Case] = [
    # TOML and the file itself
    profile("toml-unclosed-string", 'name = "x\n' + SCENARIO, "invalid TOML", "line 1"),
    profile("toml-duplicate-key", 'name = "a"\nname = "b"\n' + SCENARIO, "invalid TOML"),
    profile("toml-bad-table", "[scenarios.s\n", "invalid TOML"),
    profile("not-utf8", b"name = '\xff\xfe'\n".decode("latin-1"), "invalid TOML"),
    Case("profile-missing", ("validate", "nope.toml"), ("nope.toml", "cannot read")),
    Case("profile-is-directory", ("validate", "d"), ("d", "cannot read"), {"d/x": ""}),
    Case(
        "profile-under-a-file",
        ("validate", "f/p.toml"),
        ("f/p.toml", "cannot read", "Not a directory"),
        {"f": "x"},
    ),
    profile("empty-profile", "", "scenarios", "no scenario"),
    profile("toml-nested-too-deeply", "a = " + "[" * 5000 + "]" * 5000 + "\n", "too deeply"),
    # keys and types
    profile("unknown-top-level-key", "vuss = 3\n" + SCENARIO, "vuss", "unknown key"),
    scenario("unknown-scenario-key", "vu = 3\n", "scenarios.s.vu", "unknown key"),
    profile(
        "vus-wrong-type",
        SCENARIO.replace("vus = 1", 'vus = "ten"'),
        "scenarios.s.vus",
        "'ten'",
    ),
    profile("vus-zero", SCENARIO.replace("vus = 1", "vus = 0"), "scenarios.s.vus", "0"),
    profile("name-not-a-string", "name = 3\n" + SCENARIO, "name", "3"),
    profile("tags-not-strings", "tags = { team = 1 }\n" + SCENARIO, "tags.team", "1"),
    profile("scenarios-not-a-table", 'scenarios = "s"\n', "scenarios", "'s'"),
    profile(
        "scenario-name-with-space",
        SCENARIO.replace("[scenarios.s]", '[scenarios."my s"]'),
        "my s",
        "letters, digits",
    ),
    # durations
    profile(
        "duration-words",
        SCENARIO.replace('"1s"', '"10 minutes"'),
        "scenarios.s.duration",
        "'10 minutes'",
    ),
    profile(
        "duration-negative",
        SCENARIO.replace('"1s"', '"-5s"'),
        "scenarios.s.duration",
        "'-5s'",
    ),
    profile(
        "duration-number",
        SCENARIO.replace('"1s"', "30"),
        "scenarios.s.duration",
        "30",
    ),
    profile(
        "duration-no-unit",
        SCENARIO.replace('"1s"', '"30"'),
        "scenarios.s.duration",
        "'30'",
    ),
    scenario("start-time-bad", 'start_time = "soon"\n', "scenarios.s.start_time", "'soon'"),
    scenario("graceful-stop-bad", 'graceful_stop = "1x"\n', "scenarios.s.graceful_stop", "'1x'"),
    profile(
        "request-timeout-bad",
        'request_timeout = "fast"\n' + SCENARIO,
        "request_timeout",
        "'fast'",
    ),
    # executors and their options
    executor("executor-unknown", 'executor = "constant-vu"', "scenarios.s.executor", "constant-vu"),
    executor("executor-missing", "vus = 1", "scenarios.s.executor", "is required"),
    executor(
        "executor-externally-controlled",
        'executor = "externally-controlled"',
        "scenarios.s.executor",
        "externally-controlled",
    ),
    executor(
        "arrival-rate-without-rate",
        'executor = "constant-arrival-rate"\nduration = "1s"\npre_allocated_vus = 1',
        "scenarios.s.rate",
        "is required",
    ),
    executor(
        "arrival-rate-negative",
        'executor = "constant-arrival-rate"\nrate = -1\nduration = "1s"\npre_allocated_vus = 1',
        "scenarios.s.rate",
        "-1",
    ),
    executor(
        "arrival-rate-zero-time-unit",
        'executor = "constant-arrival-rate"\nrate = 1\ntime_unit = "0s"\nduration = "1s"\n'
        "pre_allocated_vus = 1",
        "scenarios.s.time_unit",
    ),
    executor(
        "pre-allocated-over-max",
        'executor = "constant-arrival-rate"\nrate = 1\nduration = "1s"\npre_allocated_vus = 5\n'
        "max_vus = 2",
        "scenarios.s.max_vus",
    ),
    executor(
        "iterations-below-vus",
        'executor = "shared-iterations"\nvus = 5\niterations = 2',
        "scenarios.s.iterations",
        "2",
    ),
    executor(
        "per-vu-iterations-zero",
        'executor = "per-vu-iterations"\nvus = 1\niterations = 0',
        "scenarios.s.iterations",
        "0",
    ),
    # stages
    executor("stages-empty", 'executor = "ramping-vus"\nstages = []', "scenarios.s.stages"),
    executor(
        "stage-without-target",
        'executor = "ramping-vus"\nstages = [{ duration = "1s" }]',
        "scenarios.s.stages[0].target",
        "is required",
    ),
    executor(
        "stage-negative-target",
        'executor = "ramping-vus"\nstages = [{ duration = "1s", target = -2 }]',
        "scenarios.s.stages[0].target",
        "-2",
    ),
    executor(
        "stage-bad-duration",
        'executor = "ramping-vus"\nstages = [{ duration = "1 s", target = 2 }]',
        "scenarios.s.stages[0].duration",
        "'1 s'",
    ),
    executor(
        "stage-unknown-key",
        'executor = "ramping-vus"\nstages = [{ duration = "1s", target = 2, hold = 1 }]',
        "scenarios.s.stages[0].hold",
        "unknown key",
    ),
    executor(
        "stages-not-a-list",
        'executor = "ramping-vus"\nstages = { duration = "1s", target = 2 }',
        "scenarios.s.stages",
    ),
    # shortcuts
    profile(
        "shortcut-and-scenarios",
        'vus = 1\nduration = "1s"\nworkload = "http"\n' + SCENARIO,
        "scenarios",
        "not both",
    ),
    profile(
        "shortcut-vus-alone",
        'vus = 2\nworkload = "http"\noptions = { url = "http://127.0.0.1:9/" }\n',
        "vus",
        "needs duration",
    ),
    profile(
        "shortcut-stages-and-duration",
        'duration = "1s"\nstages = [{ duration = "1s", target = 1 }]\nworkload = "http"\n'
        'options = { url = "http://127.0.0.1:9/" }\n',
        "stages",
        "duration",
    ),
    # workloads and their options
    profile(
        "workload-unknown",
        SCENARIO.replace('workload = "http"', 'workload = "htp"'),
        "scenarios.s.workload",
        "'htp'",
    ),
    profile(
        "workload-missing",
        SCENARIO.replace('workload = "http"\n', ""),
        "workload",
        "is required",
    ),
    http_options("http-url-missing", 'method = "GET"', "scenarios.s.options.url", "is required"),
    http_options(
        "http-url-relative", 'url = "/students"', "scenarios.s.options.url", "'/students'"
    ),
    http_options(
        "http-method-unknown",
        'url = "http://127.0.0.1:9/", method = "FETCH"',
        "scenarios.s.options.method",
        "'FETCH'",
    ),
    http_options(
        "http-expect-status-700",
        'url = "http://127.0.0.1:9/", expect_status = 700',
        "scenarios.s.options.expect_status",
        "700",
    ),
    http_options(
        "http-option-unknown",
        'url = "http://127.0.0.1:9/", retries = 3',
        "scenarios.s.options.retries",
        "unknown key",
    ),
    profile(
        "dms-option-negative",
        DMS_SCENARIO.replace('resource = "students"', 'resource = "students", seeded_schools = -1'),
        "scenarios.s.options.seeded_schools",
        "-1",
    ),
    profile(
        "dms-think-time-bad",
        DMS_SCENARIO.replace('resource = "students"', 'resource = "students", think_time = 5'),
        "scenarios.s.options.think_time",
        "5",
    ),
    # thresholds (an empty tag value is another suite's case)
    threshold("threshold-unknown-metric", 'no_such_metric = ["count<1"]', "no_such_metric"),
    threshold(
        "threshold-bare-percentile",
        'http_req_duration = ["p95<500"]',
        "thresholds.http_req_duration[0]",
        "p(95)",
    ),
    threshold(
        "threshold-wrong-aggregation",
        'http_reqs = ["avg<1"]',
        "thresholds.http_reqs[0]",
        "'avg'",
    ),
    threshold(
        "threshold-percentile-over-100",
        'http_req_duration = ["p(101)<500"]',
        "thresholds.http_req_duration[0]",
        "101",
    ),
    threshold(
        "threshold-value-not-a-number",
        'http_req_duration = ["p(95)<fast"]',
        "thresholds.http_req_duration[0]",
        "'fast'",
    ),
    threshold(
        "threshold-value-infinite",
        'http_req_duration = ["p(95)<inf"]',
        "thresholds.http_req_duration[0]",
        "'inf'",
    ),
    threshold(
        "threshold-no-operator",
        'http_req_duration = ["p(95) 500"]',
        "thresholds.http_req_duration[0]",
        "'p(95) 500'",
    ),
    threshold(
        "threshold-selector-unclosed",
        '"http_req_duration{scenario:s" = ["p(95)<500"]',
        "http_req_duration{scenario:s",
        "'}'",
    ),
    threshold(
        "threshold-selector-no-tags",
        '"http_req_duration{}" = ["p(95)<500"]',
        "http_req_duration{}",
        "at least one tag",
    ),
    threshold(
        "threshold-not-a-list",
        'http_req_failed = "rate<0.01"',
        "thresholds.http_req_failed",
        "'rate<0.01'",
    ),
    threshold(
        "threshold-table-unknown-key",
        'http_req_failed = [{ threshold = "rate<0.01", abort = true }]',
        "thresholds.http_req_failed[0].abort",
        "unknown key",
    ),
    threshold(
        "threshold-delay-abort-bad",
        'http_req_failed = [{ threshold = "rate<0.01", delay_abort_eval = "later" }]',
        "thresholds.http_req_failed[0].delay_abort_eval",
        "'later'",
    ),
    profile(
        "trend-stat-unknown",
        'summary_trend_stats = ["avg", "p(101)"]\n' + SCENARIO,
        "summary_trend_stats[1]",
        "'p(101)'",
    ),
    # ${VAR} expansion
    profile(
        "env-var-unset",
        SCENARIO.replace('"1s"', '"${DMSLOAD_TEST_UNSET_DURATION}"'),
        "scenarios.s.duration",
        "DMSLOAD_TEST_UNSET_DURATION is not set",
    ),
    profile(
        "env-var-expands-to-bad-duration",
        SCENARIO.replace('"1s"', '"${D}"'),
        "scenarios.s.duration",
        "'ten'",
        extra=("-e", "D=ten"),
    ),
    profile(
        "env-var-default-bad",
        SCENARIO.replace('"1s"', '"${DMSLOAD_TEST_UNSET:-1 minute}"'),
        "scenarios.s.duration",
        "'1 minute'",
    ),
]


def _run(*argv: str) -> tuple[str, ...]:
    return ("run", "p.toml", *argv)


_P = {"p.toml": SCENARIO}
_DMS = {"p.toml": DMS_SCENARIO}

COMMAND_LINES: list[Case] = [
    Case("e-without-equals", _run("-e", "FOO"), ("-e", "KEY=VALUE", "'FOO'"), _P),
    Case("e-empty-key", _run("-e", "=1"), ("-e", "KEY=VALUE", "'=1'"), _P),
    Case("tag-without-equals", _run("--tag", "team"), ("--tag", "KEY=VALUE", "'team'"), _P),
    Case("time-scale-zero", _run("--time-scale", "0"), ("--time-scale", "0"), _P),
    Case("time-scale-negative", _run("--time-scale", "-1"), ("--time-scale", "-1"), _P),
    Case("time-scale-not-a-number", _run("--time-scale", "fast"), ("--time-scale", "'fast'"), _P),
    Case("time-scale-nan", _run("--time-scale", "nan"), ("--time-scale", "nan"), _P),
    Case("time-scale-inf", _run("--time-scale", "inf"), ("--time-scale", "inf"), _P),
    Case("flag-vus-zero", _run("--vus", "0"), ("--vus", "'0'"), _P),
    Case("vus-not-a-number", _run("--vus", "many"), ("--vus", "'many'"), _P),
    Case("duration-flag-bad", _run("--duration", "1 min"), ("--duration", "'1 min'"), _P),
    Case("iterations-zero", _run("--iterations", "0"), ("--iterations", "'0'"), _P),
    Case(
        "vus-on-arrival-rate",
        ("run", "p.toml", "--vus", "3"),
        ("p.toml", "scenarios.s.executor", "arrival-rate"),
        {
            "p.toml": '[scenarios.s]\nexecutor = "constant-arrival-rate"\nrate = 1\n'
            'duration = "1s"\npre_allocated_vus = 1\nworkload = "http"\n'
            'options = { url = "http://127.0.0.1:9/" }\n'
        },
    ),
    Case("out-unknown-kind", _run("--out", "xml=a.xml"), ("--out", "xml"), _P),
    Case("out-without-target", _run("--out", "json"), ("--out", "json"), _P),
    Case(
        "out-into-missing-directory",
        _run("--out", "json=no/such/dir/s.ndjson"),
        ("no/such/dir/s.ndjson",),
        _P,
    ),
    Case(
        "out-influxdb-not-a-url",
        _run("--out", "influxdb=localhost"),
        ("influxdb", "localhost"),
        _P,
    ),
    Case(
        "summary-json-is-directory",
        _run("--summary-json", "d"),
        ("--summary-json", "d"),
        {**_P, "d/x": ""},
    ),
    Case(
        "summary-export-missing-directory",
        _run("--summary-export", "no/s.json"),
        ("--summary-export", "no/s.json", "does not exist"),
        _P,
    ),
    Case("junit-is-directory", _run("--junit", "d"), ("--junit", "d"), {**_P, "d/x": ""}),
    Case(
        "summary-mode-unknown",
        _run("--summary-mode", "tiny"),
        ("--summary-mode", "'tiny'"),
        _P,
    ),
    Case(
        "trend-stats-bad",
        _run("--summary-trend-stats", "avg,p99"),
        ("--summary-trend-stats", "'p99'"),
        _P,
    ),
    Case("run-id-not-hex", _run("--run-id", "xyz"), ("--run-id", "xyz"), _P),
    Case("seed-not-a-number", _run("--seed", "abc"), ("--seed", "'abc'"), _P),
    Case("unknown-option", _run("--vu", "3"), ("--vu",), _P),
    Case("auth-style-unknown", _run("--auth-style", "digest"), ("--auth-style", "'digest'"), _P),
    Case("profile-argument-missing", ("run",), ("profile",)),
    Case("unknown-command", ("runn", "p.toml"), ("runn",)),
]

SETTINGS: list[Case] = [
    Case(
        "env-dms-url-not-a-url",
        _run(),
        ("DMSLOAD_DMS_URL", "dms_url", "'localhost:8080'"),
        _P,
        env={"DMSLOAD_DMS_URL": "localhost:8080"},
    ),
    Case(
        "flag-dms-url-ftp",
        _run("--dms-url", "ftp://127.0.0.1/"),
        ("dms_url", "flag", "ftp://127.0.0.1/"),
        _P,
    ),
    Case(
        "flag-dms-url-port-out-of-range",
        _run("--dms-url", "http://127.0.0.1:99999"),
        ("dms_url", "flag", "Port out of range", "99999"),
        _P,
    ),
    Case(
        "env-cms-url-port-not-a-number",
        _run(),
        ("DMSLOAD_CMS_URL", "cms_url", "'http://127.0.0.1:x'"),
        _P,
        env={"DMSLOAD_CMS_URL": "http://127.0.0.1:x"},
    ),
    Case(
        "env-verify-tls-not-boolean",
        _run(),
        ("DMSLOAD_VERIFY_TLS", "verify_tls", "'perhaps'"),
        _P,
        env={"DMSLOAD_VERIFY_TLS": "perhaps"},
    ),
    Case(
        "env-auth-style-unknown",
        _run(),
        ("DMSLOAD_AUTH_STYLE", "auth_style", "'digest'"),
        _P,
        env={"DMSLOAD_AUTH_STYLE": "digest"},
    ),
    Case(
        "env-request-timeout-zero",
        _run(),
        ("DMSLOAD_REQUEST_TIMEOUT_S", "request_timeout_s", "0"),
        _P,
        env={"DMSLOAD_REQUEST_TIMEOUT_S": "0"},
    ),
    Case(
        "dotenv-bad-cms-url",
        _run(),
        ("DMSLOAD_CMS_URL", "cms_url", "'cms'"),
        {**_P, ".env": "DMSLOAD_CMS_URL=cms\n"},
    ),
    Case(
        "env-file-missing",
        _run("--env-file", "nope.env"),
        ("--env-file", "nope.env", "not found"),
        _P,
    ),
    Case(
        "env-file-bad-value",
        _run("--env-file", "my.env"),
        ("my.env", "DMSLOAD_TOKEN_URL", "token_url", "'token'"),
        {**_P, "my.env": "DMSLOAD_TOKEN_URL=token\n"},
    ),
    Case(
        "key-without-secret",
        ("run", "p.toml"),
        ("DMSLOAD_CLIENT_SECRET", "is not set", "DMSLOAD_CLIENT_KEY"),
        _DMS,
        env={"DMSLOAD_CLIENT_KEY": "k"},
    ),
    Case(
        "credentials-file-missing",
        ("run", "p.toml", "--credentials-file", "creds.json"),
        ("creds.json", "not found", "dmsload setup"),
        _DMS,
    ),
    Case(
        "credentials-file-not-json",
        ("run", "p.toml", "--credentials-file", "creds.json"),
        ("creds.json", "not valid JSON"),
        {**_DMS, "creds.json": "key=k\n"},
    ),
    Case(
        "credentials-file-array",
        ("run", "p.toml", "--credentials-file", "creds.json"),
        ("creds.json", "JSON object"),
        {**_DMS, "creds.json": "[]"},
    ),
    Case(
        "credentials-file-no-secret",
        ("run", "p.toml", "--credentials-file", "creds.json"),
        ("creds.json", "secret"),
        {**_DMS, "creds.json": '{"key": "k"}'},
    ),
    Case(
        "credentials-file-secret-not-string",
        ("run", "p.toml", "--credentials-file", "creds.json"),
        ("creds.json", "secret"),
        {**_DMS, "creds.json": '{"key": "k", "secret": 12}'},
    ),
    Case(
        "credentials-file-is-directory",
        ("run", "p.toml", "--credentials-file", "cd"),
        ("cd", "cannot read"),
        {**_DMS, "cd/x": ""},
    ),
    Case(
        "env-credentials-file-missing",
        ("run", "p.toml"),
        ("elsewhere.json", "not found"),
        _DMS,
        env={"DMSLOAD_CREDENTIALS_FILE": "elsewhere.json"},
    ),
    Case(
        "setup-credentials-file-under-a-file",
        ("setup", "--credentials-file", "f/creds.json", "--dms-url", "http://127.0.0.1:9"),
        ("--credentials-file", "f/creds.json", "not a directory"),
        {"f": "x"},
    ),
    Case(
        "setup-claimset-missing",
        ("setup", "--claimset", "nope.json", "--dms-url", "http://127.0.0.1:9"),
        ("nope.json",),
    ),
    Case(
        "setup-seed-schools-negative", ("setup", "--seed-schools", "-1"), ("--seed-schools", "'-1'")
    ),
    Case(
        "setup-cms-url-not-http",
        ("setup", "--cms-url", "cms.local"),
        ("cms_url", "flag", "'cms.local'"),
    ),
    Case("setup-env-file-missing", ("setup", "--env-file", "x.env"), ("--env-file", "x.env")),
    Case(
        "setup-claimset-not-json",
        ("setup", "--claimset", "c.json", "--dms-url", "http://127.0.0.1:9"),
        ("--claimset", "c.json", "not valid JSON"),
        {"c.json": "{"},
    ),
    Case(
        "setup-timeout-negative",
        ("setup", "--timeout", "-1", "--dms-url", "http://127.0.0.1:9"),
        ("request_timeout_s", "-1"),
    ),
]

SUMMARY = "good.summary.json"  # a real summary, written by the test module's fixture

RESULTS: list[Case] = [
    Case("report-missing", ("report", "nope.json"), ("nope.json", "no such file")),
    Case(
        "report-not-json",
        ("report", "bad.json"),
        ("bad.json", "not JSON"),
        {"bad.json": "{not json"},
    ),
    Case("report-empty-file", ("report", "bad.json"), ("bad.json", "not JSON"), {"bad.json": ""}),
    Case(
        "report-json-array",
        ("report", "bad.json"),
        ("bad.json", "schema", "(got an array)"),
        {"bad.json": "[1, 2]"},
    ),
    Case(
        "report-k6-summary-export",
        ("report", "k6.json"),
        ("k6.json", "k6 --summary-export"),
        {"k6.json": '{"root_group": {}, "metrics": {}}'},
    ),
    Case(
        "report-wrong-schema",
        ("report", "bad.json"),
        ("bad.json", "schema", "'dmsload-summary/9'"),
        {"bad.json": '{"schema": "dmsload-summary/9"}'},
    ),
    Case(
        "report-metrics-malformed",
        ("report", "bad.json"),
        ("bad.json", "metrics: malformed", "an array"),
        {"bad.json": '{"schema": "dmsload-summary/1", "metrics": [1]}'},
    ),
    Case(
        "report-directory-without-suite",
        ("report", "d"),
        ("d", "suite.json"),
        {"d/x": ""},
    ),
    Case(
        "report-suite-index-malformed",
        ("report", "d"),
        ("d/suite.json", "profiles"),
        {"d/suite.json": '{"profiles": 3}'},
    ),
    Case(
        "compare-baseline-missing",
        ("compare", "nope.json", SUMMARY),
        ("nope.json", "no such file"),
    ),
    Case(
        "compare-current-not-json",
        ("compare", SUMMARY, "bad.json"),
        ("bad.json", "not JSON"),
        {"bad.json": "{"},
    ),
    Case(
        "compare-file-and-directory",
        ("compare", SUMMARY, "d"),
        ("d", "is a directory", SUMMARY),
        {"d/x": ""},
    ),
    Case(
        "compare-rule-bad-stat",
        ("compare", SUMMARY, SUMMARY, "--fail-on", "p(95)>>10%"),
        ("--fail-on", "p(95)>>10%"),
    ),
    Case(
        "compare-rule-no-sign",
        ("compare", SUMMARY, SUMMARY, "--fail-on", "p(95)>10%"),
        ("--fail-on", "p(95)>10%"),
    ),
    Case(
        "compare-rule-bad-unit",
        ("compare", SUMMARY, SUMMARY, "--fail-on", "p(95)>+10kg"),
        ("--fail-on", "+10kg"),
    ),
    Case(
        "compare-markdown-into-missing-directory",
        ("compare", SUMMARY, SUMMARY, "--markdown", "no/such/cmp.md"),
        ("no/such/cmp.md",),
    ),
]

SUITE_AND_SANDBOX: list[Case] = [
    Case(
        "suite-profile-missing",
        ("suite", "--profiles", "nope.toml", "--results-dir", "r"),
        ("--profiles", "nope.toml"),
    ),
    Case(
        "suite-profile-invalid",
        ("suite", "--profiles", "p.toml", "--results-dir", "r"),
        ("p.toml", "scenarios.s.vus", "0"),
        {"p.toml": SCENARIO.replace("vus = 1", "vus = 0")},
    ),
    Case(
        "suite-cooldown-bad",
        ("suite", "--profiles", "p.toml", "--cooldown", "a while", "--results-dir", "r"),
        ("--cooldown", "'a while'"),
        _P,
    ),
    Case(
        "suite-results-dir-is-file",
        ("suite", "--profiles", "p.toml", "--results-dir", "f"),
        ("--results-dir", "f"),
        {**_P, "f": "x"},
    ),
    Case("sandbox-port-out-of-range", ("sandbox", "--port", "70000"), ("--port", "'70000'")),
    Case("sandbox-workers", ("sandbox", "--workers", "2"), ("--workers", "1")),
    Case("sandbox-error-rate-over-1", ("sandbox", "--error-rate", "2"), ("error_rate", "2")),
    Case(
        "sandbox-latency-p50-without-p99",
        ("sandbox", "--latency-p50", "10"),
        ("latency_p99",),
    ),
    Case(
        "sandbox-schema-missing",
        ("sandbox", "--schema", "nope.json"),
        ("nope.json",),
    ),
    Case(
        "sandbox-schema-not-json",
        ("sandbox", "--schema", "s.json"),
        ("s.json",),
        {"s.json": "{"},
    ),
    Case(
        "sandbox-token-lifetime-zero",
        ("sandbox", "--token-lifetime", "0"),
        ("--token-lifetime", "'0'"),
    ),
    Case(
        "sandbox-host-unresolvable",
        ("sandbox", "--host", "no-such-host.invalid", "--port", "0"),
        ("cannot listen", "no-such-host.invalid"),
        code=1,
    ),
]

ALL: list[Case] = [*PROFILES, *COMMAND_LINES, *SETTINGS, *RESULTS, *SUITE_AND_SANDBOX]
