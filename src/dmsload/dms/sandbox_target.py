"""`--sandbox`: start the embedded sandbox, run `setup` against it, and point the run at it."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import anyio
from pydantic import SecretStr

from dmsload.dms.embedded_sandbox import EmbeddedSandbox, embedded_sandbox, free_loopback_port
from dmsload.dms.setup import SetupOptions, run_setup
from dmsload.sandbox.config import ADMIN_CLIENT_ID, ADMIN_CLIENT_SECRET
from dmsload.settings import ConnectionSettings, explicit_settings

SANDBOX_SEEDED_SCHOOLS = 10
"""Schools `setup --seed-schools` creates in the sandbox, for the profiles' association writes."""


class SandboxSetupError(RuntimeError):
    """`setup` failed against the embedded sandbox (the failing step is in the message)."""


@dataclass(frozen=True)
class SandboxTarget:
    """Where a run goes when `--sandbox` is given."""

    port: int
    base_url: str
    args: tuple[str, ...] = ()
    """Options for `dmsload sandbox` (`--sandbox-arg`), e.g. `--schema=FILE`."""

    @property
    def profile_env(self) -> dict[str, str]:
        """`${VAR}` values for profiles: the sandbox's URL and how many schools were seeded."""
        return {
            "DMSLOAD_DMS_URL": self.base_url,
            "DMSLOAD_SEEDED_SCHOOLS": str(SANDBOX_SEEDED_SCHOOLS),
        }


def plan_sandbox_target(args: Sequence[str] = ()) -> SandboxTarget:
    """Choose the sandbox's port first, so that profiles can be validated before it starts."""
    port = free_loopback_port()
    return SandboxTarget(port=port, base_url=f"http://127.0.0.1:{port}", args=tuple(args))


@contextmanager
def running_sandbox_target(
    target: SandboxTarget, echo: Callable[[str], None]
) -> Iterator[ConnectionSettings]:
    """Start the sandbox on the planned port, run `setup` (with seeded schools), yield the
    connection settings for the run, and stop the sandbox afterwards."""
    with (
        tempfile.TemporaryDirectory(prefix="dmsload-") as workdir,
        embedded_sandbox(target.port, target.args) as sandbox,
    ):
        echo(f"sandbox at {sandbox.base_url}")
        settings = _settings_for(sandbox, Path(workdir))
        options = SetupOptions(seed_schools=SANDBOX_SEEDED_SCHOOLS)
        result = anyio.run(run_setup, settings, options, echo)
        if not result.ok:
            raise SandboxSetupError(f"setup failed at step: {result.failed_step}")
        yield settings


def _settings_for(sandbox: EmbeddedSandbox, workdir: Path) -> ConnectionSettings:
    """The sandbox's own connection: its URLs, its CMS admin client, basic auth, the key
    setup creates. Nothing comes from DMSLOAD_* or `.env`, which describe the user's DMS."""
    return explicit_settings(
        dms_url=sandbox.base_url,
        cms_url=sandbox.cms_url,
        credentials_file=workdir / "credentials.json",
        cms_client_id=ADMIN_CLIENT_ID,
        cms_client_secret=SecretStr(ADMIN_CLIENT_SECRET),
        auth_style="basic",
    )
