"""Session-wide hooks: how pytest-xdist shares the tests out among its workers."""

from __future__ import annotations

from typing import Any

import pytest

SHARED_STATE = ("tests/secretscan/",)
"""Folders whose modules build on their own earlier tests' results (the secret scan's last test
checks what the others scanned): under xdist, one worker runs each such module, in order."""


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """`--dist loadgroup` (scripts/test): every test is its own unit of work, except that the
    tests of a SHARED_STATE module form one. xdist's own grouping by `xdist_group` marks takes
    no effect under pytest 9.2 (pytest-dev/pytest-xdist#1386), hence this scheduler."""
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class SharedStateModules(LoadScopeScheduling):
        """xdist's per-scope scheduling, with a scope per test but for SHARED_STATE modules."""

        def _split_scope(self, nodeid: str) -> str:
            if nodeid.startswith(SHARED_STATE):
                return nodeid.split("::", 1)[0]
            return nodeid

    return SharedStateModules(config, log)
