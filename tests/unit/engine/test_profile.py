"""Profile validation: every error names the file, the key path and the value."""

from pathlib import Path

import pytest

from dmsload.engine.executors import (
    ConstantArrivalRateConfig,
    ConstantVUsConfig,
    RampingVUsConfig,
    SharedIterationsConfig,
)
from dmsload.profile import ProfileError, apply_overrides, load_profile, profile_from_mapping
from dmsload.workloads import builtin_workloads

S = 1_000_000_000
HTTP = {"workload": "http", "options": {"url": "http://127.0.0.1:9/health"}}


def load(doc: dict) -> object:
    return profile_from_mapping(doc, builtin_workloads(), source="p.toml")


def errors(doc: dict) -> list[str]:
    with pytest.raises(ProfileError) as info:
        load(doc)
    return info.value.lines()


def test_a_complete_profile_loads() -> None:
    profile = load(
        {
            "name": "example",
            "scenarios": {
                "reads": {
                    "executor": "constant-arrival-rate",
                    "rate": 50,
                    "duration": "4s",
                    "pre_allocated_vus": 10,
                    "max_vus": 20,
                    **HTTP,
                }
            },
            "thresholds": {
                "http_req_failed": ["rate<0.01"],
                "http_req_duration{scenario:reads}": [
                    {"threshold": "p(95)<500", "abort_on_fail": True}
                ],
            },
        }
    )
    config = profile.scenarios["reads"].config
    assert isinstance(config, ConstantArrivalRateConfig)
    assert (config.rate, config.duration, config.vu_ceiling()) == (50, 4 * S, 20)
    assert profile.thresholds["http_req_duration{scenario:reads}"][0].abort_on_fail


def test_k6_camel_case_keys_are_accepted() -> None:
    profile = load(
        {
            "scenarios": {
                "open": {
                    "executor": "ramping-arrival-rate",
                    "startRate": 5,
                    "timeUnit": "1s",
                    "preAllocatedVUs": 2,
                    "maxVUs": 4,
                    "gracefulStop": "5s",
                    "startTime": "1s",
                    "stages": [{"duration": "2s", "target": 10}],
                    **HTTP,
                }
            }
        }
    )
    cfg = profile.scenarios["open"].config
    assert (cfg.start_rate, cfg.pre_allocated_vus, cfg.max_vus) == (5, 2, 4)
    assert (cfg.graceful_stop, cfg.start_time) == (5 * S, S)


def test_stage_error_names_the_full_key_path_and_value() -> None:
    lines = errors(
        {
            "scenarios": {
                "spike": {
                    "executor": "ramping-vus",
                    "stages": [
                        {"duration": "10s", "target": 10},
                        {"duration": "10s", "target": 50},
                        {"duration": "10s", "target": -5},
                    ],
                    **HTTP,
                }
            }
        }
    )
    assert len(lines) == 1
    assert lines[0].startswith("p.toml: scenarios.spike.stages[2].target: ")
    assert "(got -5)" in lines[0]


def test_every_problem_is_reported_at_once() -> None:
    lines = errors(
        {
            "scenarios": {
                "a": {"executor": "constant-vus", "vus": 0, "duration": "ten", "bogus": 1, **HTTP},
                "b": {"executor": "constant-arrival-rate", "rate": 10, "duration": "5s", **HTTP},
            }
        }
    )
    text = "\n".join(lines)
    assert "scenarios.a.vus:" in text
    assert "scenarios.a.duration: invalid duration 'ten'" in text
    assert "scenarios.a.bogus: unknown key (got 1)" in text
    assert "scenarios.b.pre_allocated_vus: is required" in text
    assert len(lines) == 4


def test_unknown_and_removed_executors() -> None:
    (line,) = errors({"scenarios": {"x": {"executor": "warp-speed", **HTTP}}})
    assert "scenarios.x.executor: unknown executor" in line and "'warp-speed'" in line
    (line,) = errors({"scenarios": {"x": {"executor": "externally-controlled", **HTTP}}})
    assert "k6 v2 removed" in line and "scenarios.x.executor" in line


@pytest.mark.parametrize(
    ("scenario", "key", "fragment"),
    [
        (
            {"executor": "shared-iterations", "vus": 10, "iterations": 5},
            "iterations",
            "can't be less than the number of VUs",
        ),
        ({"executor": "constant-vus", "duration": "500ms"}, "duration", "at least 1s"),
        (
            {
                "executor": "constant-arrival-rate",
                "rate": 5,
                "duration": "5s",
                "pre_allocated_vus": 10,
                "max_vus": 5,
            },
            "max_vus",
            "can't be less than",
        ),
        (
            {
                "executor": "ramping-vus",
                "start_vus": 0,
                "stages": [{"duration": "1s", "target": 0}],
            },
            "stages",
            "must be greater than 0",
        ),
        ({"executor": "ramping-vus", "stages": []}, "stages", "at least one stage"),
        (
            {
                "executor": "constant-arrival-rate",
                "rate": 0,
                "duration": "5s",
                "pre_allocated_vus": 1,
            },
            "rate",
            "greater than 0",
        ),
    ],
)
def test_k6_validation_rules(scenario: dict, key: str, fragment: str) -> None:
    lines = errors({"scenarios": {"s": {**scenario, **HTTP}}})
    assert any(f"scenarios.s.{key}:" in line and fragment in line for line in lines), lines


def test_durations_must_be_strings_with_units() -> None:
    (line,) = errors({"scenarios": {"s": {"executor": "constant-vus", "duration": 30, **HTTP}}})
    assert "scenarios.s.duration:" in line and "strings with a unit" in line


def test_threshold_problems_name_the_entry() -> None:
    base = {"vus": 1, "duration": "1s", **HTTP}
    lines = errors(
        {
            **base,
            "thresholds": {
                "http_req_duration": ["p(95)<500", "p95<500"],
                "no_such_metric": ["count<1"],
                "http_reqs": ["p(95)<1"],
                "http_req_failed": [{"threshold": "rate<0.1", "abortOnFail": True, "bad": 1}],
            },
        }
    )
    text = "\n".join(lines)
    assert "thresholds.http_req_duration[1]:" in text and "'p95<500'" in text
    assert "thresholds.no_such_metric: unknown metric" in text
    assert "thresholds.http_reqs[0]:" in text
    assert "thresholds.http_req_failed[0].bad: unknown key" in text


@pytest.mark.parametrize(
    ("selector", "tag"),
    [
        ("http_req_duration{scenario:}", "scenario:"),
        ("http_req_duration{scenario:s,method:}", "method:"),
        ("http_req_duration{scenario: }", "scenario:"),
    ],
)
def test_an_empty_tag_value_in_a_threshold_selector_is_refused(selector: str, tag: str) -> None:
    lines = errors({"vus": 1, "duration": "1s", **HTTP, "thresholds": {selector: ["p(95)<1"]}})
    assert lines == [
        f'p.toml: thresholds."{selector}": sub-metric tag {tag!r} has an empty value: '
        f"write tag:value (got {selector!r})"
    ]


def test_sub_metric_selectors_are_parsed() -> None:
    profile = load(
        {
            "vus": 1,
            "duration": "1s",
            **HTTP,
            "thresholds": {"http_req_duration{scenario:default,method:GET}": ["p(99.9)<500"]},
        }
    )
    assert list(profile.thresholds) == ["http_req_duration{scenario:default,method:GET}"]


def test_workload_and_options_are_checked() -> None:
    lines = errors(
        {
            "scenarios": {
                "s": {
                    "executor": "constant-vus",
                    "duration": "1s",
                    "workload": "http",
                    "options": {"url": "ftp://x", "method": "FETCH"},
                }
            }
        }
    )
    text = "\n".join(lines)
    assert "scenarios.s.options.url:" in text and "'ftp://x'" in text
    assert "scenarios.s.options.method:" in text
    (line,) = errors(
        {"scenarios": {"s": {"executor": "constant-vus", "duration": "1s", "workload": "nope"}}}
    )
    assert "scenarios.s.workload: unknown workload" in line


def test_shortcuts_become_one_default_scenario() -> None:
    cfg = load({"vus": 5, "duration": "30s", **HTTP}).scenarios["default"].config
    assert isinstance(cfg, ConstantVUsConfig) and (cfg.vus, cfg.duration) == (5, 30 * S)
    cfg = load({"vus": 2, "iterations": 10, **HTTP}).scenarios["default"].config
    assert isinstance(cfg, SharedIterationsConfig) and (cfg.vus, cfg.iterations) == (2, 10)
    cfg = load({"stages": [{"duration": "5s", "target": 3}], **HTTP}).scenarios["default"].config
    assert isinstance(cfg, RampingVUsConfig) and cfg.start_vus == 1
    lines = errors(
        {
            "vus": 1,
            "duration": "1s",
            **HTTP,
            "scenarios": {"s": {"executor": "constant-vus", "duration": "1s"}},
        }
    )
    assert any("not both" in line for line in lines)


def test_time_scale_multiplies_durations_but_not_rates() -> None:
    profile = load(
        {
            "scenarios": {
                "s": {
                    "executor": "constant-arrival-rate",
                    "rate": 50,
                    "duration": "4h",
                    "pre_allocated_vus": 1,
                    "graceful_stop": "10s",
                    "start_time": "1m",
                    **HTTP,
                }
            }
        }
    )
    scaled = profile.scaled(0.01).scenarios["s"].config
    assert scaled.duration == 144 * S
    assert scaled.start_time == 600_000_000
    assert scaled.rate == 50 and scaled.time_unit == S


def test_cli_overrides_follow_k6_shortcuts() -> None:
    profile = load(
        {
            "scenarios": {
                "s": {
                    "executor": "ramping-vus",
                    "stages": [{"duration": "5s", "target": 3}],
                    **HTTP,
                }
            }
        }
    )
    cfg = apply_overrides(profile, vus=4, duration_ns=2 * S).scenarios["s"].config
    assert isinstance(cfg, ConstantVUsConfig) and (cfg.vus, cfg.duration) == (4, 2 * S)
    cfg = apply_overrides(profile, iterations=7).scenarios["s"].config
    assert isinstance(cfg, SharedIterationsConfig) and cfg.iterations == 7
    with pytest.raises(ProfileError):
        apply_overrides(profile, vus=10, iterations=3)


def test_toml_errors_and_missing_files(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("name = \n")
    with pytest.raises(ProfileError) as info:
        load_profile(bad, builtin_workloads())
    assert info.value.lines()[0].startswith(f"{bad}: invalid TOML")
    with pytest.raises(ProfileError) as info:
        load_profile(tmp_path / "missing.toml", builtin_workloads())
    assert "cannot read the profile" in info.value.lines()[0]


def test_environment_variables_expand_in_strings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "env.toml"
    path.write_text(
        'vus = 1\nduration = "${DUR:-2s}"\nworkload = "http"\n'
        'options = { url = "${TARGET}/health" }\n'
    )
    monkeypatch.setenv("TARGET", "http://127.0.0.1:1234")
    profile = load_profile(path, builtin_workloads())
    assert profile.scenarios["default"].options.url == "http://127.0.0.1:1234/health"
    assert profile.scenarios["default"].config.duration == 2 * S
    monkeypatch.delenv("TARGET")
    with pytest.raises(ProfileError) as info:
        load_profile(path, builtin_workloads())
    (line,) = info.value.lines()
    assert "options.url: environment variable TARGET is not set" in line


def test_bad_workload_options_do_not_make_its_metrics_unknown_to_thresholds() -> None:
    lines = errors(
        {
            "scenarios": {
                "c": {
                    "executor": "constant-vus",
                    "vus": 2,
                    "duration": "5s",
                    "workload": "create",
                    "options": {"resource": 5},  # not a resource name
                }
            },
            "thresholds": {
                "entity_creation_time": ["p(95)<500"],
                "schools_created": ["avg<1"],  # still judged: a counter has no avg
                "no_such_metric": ["count>0"],
            },
        }
    )
    assert len(lines) == 3, lines
    assert lines[0].startswith("p.toml: scenarios.c.options.resource: Input should be")
    assert "thresholds.schools_created[0]" in lines[1]
    assert "thresholds.no_such_metric: unknown metric 'no_such_metric'" in lines[2]
    assert not any("entity_creation_time" in line for line in lines)


def test_an_unknown_workload_does_not_make_thresholds_unknown() -> None:
    lines = errors(
        {
            "scenarios": {
                "c": {"executor": "constant-vus", "vus": 1, "duration": "5s", "workload": "creat"}
            },
            "thresholds": {"entity_creation_time": ["p(95)<500"]},
        }
    )
    assert len(lines) == 1 and "scenarios.c.workload: unknown workload" in lines[0], lines


def test_a_value_the_message_already_shows_is_not_repeated() -> None:
    lines = errors(
        {
            "scenarios": {
                "c": {"executor": "constant-vus", "vus": 1, "duration": 5, **HTTP},
            }
        }
    )
    assert lines == [
        'p.toml: scenarios.c.duration: durations are strings with a unit, e.g. "30s" or '
        '"1m30s" (got 5)'
    ]
    assert lines[0].count("(got 5)") == 1
