"""`pip install dmsload` without the `sandbox` extra: the command line still starts."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

PROFILES = Path(__file__).resolve().parents[2] / "profiles"

# Make the sandbox extra's packages unimportable, as in an install without the extra
# (httptools is a core dependency: it parses VU responses).
_WITHOUT_EXTRA = (
    "import sys\n"
    "for name in ('jsonschema', 'uvicorn'):\n"
    "    sys.modules[name] = None\n"
    "from dmsload.cli import main\n"
    "sys.argv = ['dmsload', *sys.argv[1:]]\n"
    "main()\n"
)


def _dmsload(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", _WITHOUT_EXTRA, *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_validate_runs_without_the_sandbox_extra() -> None:
    done = _dmsload("validate", str(PROFILES / "smoke.toml"))
    assert done.returncode == 0, done.stderr
    assert "profile is valid" in done.stdout


def test_the_sandbox_without_its_extra_says_what_to_install() -> None:
    done = _dmsload("sandbox", "--port", "0")
    assert done.returncode != 0
    assert "pip install 'dmsload[sandbox]'" in done.stderr
    assert "Traceback" not in done.stderr
