"""Every dmsload command that the docs, the `--help` examples and the GitHub workflows show
exists with the options it uses, and the workflows parse."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import typer
import yaml

from dmsload.cli import app

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / ".github" / "workflows"
DOCS = [ROOT / "README.md", ROOT / "profiles" / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

_INVOCATION = re.compile(r"\bdmsload\s+(?P<rest>-{0,2}[a-z].*)")
_COMMAND_START = re.compile(r"(?:^\s*|[#:;&|(]\s*|\.venv/bin/|\b[A-Z_][A-Z0-9_]*=\S*\s+)$")
"""What may come before `dmsload` where a command starts (not prose such as "installs
dmsload"): a line's start, a comment, `&&`, `.venv/bin/`, a `VAR=value ` prefix."""
_END = re.compile(r"\s(?:&&|\|\||;|\||&|>>?|2>|#)(?:\s|$)|`|\)(?=[\s.,;]|$)|$")
"""Where one command ends: `&&`, a pipe, a redirection, a comment, a backtick, or the `)` that
closes a parenthesis of prose."""
_OPTION = re.compile(r"(?:^|(?<=[\s\[(]))(--[a-z][a-z0-9-]*|-[a-zA-Z])(?=[\s=\]),:|]|$)")
_PROFILE = re.compile(r"(?:^|(?<=\s))(profiles/[a-z0-9-]+\.toml)")


def _joined_lines(text: str) -> list[str]:
    """Lines with shell continuations (`\\`) and synopsis continuations (an indented `[`)
    joined to the line they continue."""
    text = re.sub(r"\\\n\s*", " ", text)
    lines: list[str] = []
    for line in text.splitlines():
        if lines and re.match(r"\s+\[", line):
            lines[-1] += " " + line.strip()
        else:
            lines.append(line)
    return lines


def dmsload_commands(text: str) -> list[str]:
    """Each `dmsload ...` invocation in a script or code block, cut at its shell boundary."""
    commands = []
    for line in _joined_lines(text):
        start = 0
        while (found := _INVOCATION.search(line, start)) is not None:
            start = found.start("rest")
            if not _COMMAND_START.search(line[: found.start()]):
                continue
            rest = found["rest"]
            end = _END.search(rest)
            assert end is not None  # `$` always matches
            commands.append(rest[: end.start()].strip())
    return commands


def _code(markdown: str) -> Iterator[str]:
    """Fenced code blocks, then inline code spans."""
    yield from re.findall(r"^```[^\n]*\n(.*?)^```", markdown, flags=re.M | re.S)
    prose = re.sub(r"^```.*?^```", "", markdown, flags=re.M | re.S)
    yield from re.findall(r"`([^`\n]+)`", prose)


def _cli() -> Any:
    """The Typer app as its click group (Typer vendors click: typed loosely on purpose)."""
    group = typer.main.get_command(app)
    assert isinstance(getattr(group, "commands", None), Mapping)
    return group


def _options(command: Any) -> set[str]:
    names = {"--help"}
    for param in command.params:
        if param.param_type_name == "option":
            names.update(param.opts)
            names.update(param.secondary_opts)
    return names


def problems(command_line: str) -> list[str]:
    """What in one `dmsload ...` command line does not exist: the subcommand, an option, or a
    shipped profile it names."""
    group = _cli()
    words = command_line.split()
    found: list[str] = []
    if words and not words[0].startswith("-"):
        command = group.commands.get(words[0])
        if command is None:
            return [f"no command {words[0]!r}"]
        text = command_line[len(words[0]) :]
    else:
        command, text = group, command_line
    known = _options(command)
    found += [f"{command.name}: no option {o}" for o in _OPTION.findall(text) if o not in known]
    found += [f"no file {p}" for p in _PROFILE.findall(text) if not (ROOT / p).is_file()]
    return found


def test_the_parser_finds_commands_and_their_options() -> None:
    text = (
        "scripts/test  # installs dmsload with its dev extras; puts dmsload on the PATH\n"
        "scripts/demo  # dmsload run profiles/smoke.toml --sandbox: the sandbox\n"
        "DMSLOAD_X=1 .venv/bin/dmsload compare a b --fail-on 'p(95)>+1%' && echo done\n"
        "dmsload setup [--dms-url URL] [--auth-style basic|form]\n"
        "              [--insecure] [--timeout S]\n"
        "dmsload sandbox --port 8080 &\n"
        "source .venv/bin/activate        # then: dmsload --help\n"
        "a summary JSON (dmsload run --summary-json) or a directory\n"
    )
    assert dmsload_commands(text) == [
        "run profiles/smoke.toml --sandbox: the sandbox",
        "compare a b --fail-on 'p(95)>+1%'",
        "setup [--dms-url URL] [--auth-style basic|form] [--insecure] [--timeout S]",
        "sandbox --port 8080",
        "--help",
        "run --summary-json",
    ]
    assert problems("run profiles/smoke.toml --sandbox: the sandbox -q") == []
    assert problems("run p.toml --no-such-flag --sandbox") == ["run: no option --no-such-flag"]
    assert problems("suite --run-id 1a2b3c4d") == ["suite: no option --run-id"]
    assert problems("frobnicate --x") == ["no command 'frobnicate'"]
    assert problems("validate profiles/nope.toml") == ["no file profiles/nope.toml"]


@pytest.mark.parametrize("path", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_documented_command_exists_with_its_options(path: Path) -> None:
    commands = [c for block in _code(path.read_text()) for c in dmsload_commands(block)]
    assert {c: problems(c) for c in commands if problems(c)} == {}
    if path.name == "README.md" and path.parent == ROOT:
        used = {c.split()[0] for c in commands}
        assert set(_cli().commands) <= used  # the README shows every command
        assert len(commands) >= 30


def test_every_flag_of_the_settings_table_exists_where_settings_are_read() -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Connecting to a DMS", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `DMSLOAD_")]
    flags = {flag for row in rows for flag in re.findall(r"`(--[a-z-]+)`", row.split("|")[2])}
    assert {"--dms-url", "--timeout", "--insecure"} <= flags
    commands = _cli().commands
    for name in ("setup", "run", "suite"):
        cms_only = {"--cms-url"} if name != "setup" else set()  # only setup talks to the CMS
        assert flags - cms_only - _options(commands[name]) == set(), name


def test_every_help_example_exists_with_its_options() -> None:
    found = {}
    for name, command in _cli().commands.items():
        examples = dmsload_commands(command.help or "")
        assert examples, f"{name} --help has no example"
        found.update({example: problems(example) for example in examples})
    assert {example: bad for example, bad in found.items() if bad} == {}
    assert len(found) >= 15


def test_every_option_a_help_text_mentions_exists_on_that_command() -> None:
    found = {}
    for name, command in _cli().commands.items():
        texts = [command.help or "", *(param.help or "" for param in command.params)]
        for text in texts:
            for invocation in dmsload_commands(text):  # another command's: checked as such
                found[invocation] = problems(invocation)
            own = re.sub(r"\bdmsload\s+\S+[^`]*", "", text)
            missing = set(_OPTION.findall(own)) - _options(command)
            found.update({f"{name} --help: {option}": ["no such option"] for option in missing})
    assert {key: bad for key, bad in found.items() if bad} == {}


def _steps(path: Path) -> list[dict[str, Any]]:
    document = yaml.safe_load(path.read_text())
    assert isinstance(document, dict) and document.get("jobs"), path
    return [step for job in document["jobs"].values() for step in job.get("steps", [])]


@pytest.mark.parametrize("path", sorted(WORKFLOWS.glob("*.yml")), ids=lambda p: p.name)
def test_workflow_commands_exist_with_their_options(path: Path) -> None:
    commands = [c for step in _steps(path) for c in dmsload_commands(step.get("run", ""))]
    assert {c: problems(c) for c in commands if problems(c)} == {}
    if path.name == "performance-tests.yml":
        assert {c.split()[0] for c in commands} >= {"setup", "suite", "report", "compare"}


def test_the_performance_workflow_runs_nightly_and_on_demand() -> None:
    document = yaml.safe_load((WORKFLOWS / "performance-tests.yml").read_text())
    triggers = document[True]  # YAML 1.1 reads the key `on` as a boolean
    assert "schedule" in triggers and "workflow_dispatch" in triggers
    assert set(triggers["workflow_dispatch"]["inputs"]) == {"time_scale", "profiles", "fail_on"}
    names = [step.get("name", "") for step in _steps(WORKFLOWS / "performance-tests.yml")]
    assert any("Upload" in name for name in names) and any("Gate" in name for name in names)
