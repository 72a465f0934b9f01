"""Instructions per request of dmsload's closed loop, counted by valgrind (callgrind).

CPU time on a shared machine moves with what else runs on it; the number of instructions the
client executes does not. Each source tree runs the same `shared-iterations` profile (16 VUs,
`workload = "http"` GET of a small JSON from nginx on loopback) twice under callgrind, with
--small and --large iterations; (instructions_large - instructions_small) / (large - small) is
the cost of one request with start-up cancelled out. Give older checkouts' `src` folders to
compare them with this one in one invocation:

    python scripts/bench/instructions.py [SRC ...] [--small 500] [--large 2500]

valgrind comes from Debian (`apt-get install -y valgrind`); about 6 minutes per tree. Load goes
to 127.0.0.1 only and every run is bounded by its iteration count and a timeout.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from peers import ROOT, SMALL_JSON, nginx


def instructions(src: Path, url: str, iterations: int, workdir: Path) -> int:
    """Instructions callgrind counts for one run of `iterations` GETs from tree `src`."""
    profile = workdir / f"instructions-{iterations}.toml"
    profile.write_text(
        "[scenarios.closed]\n"
        'executor = "shared-iterations"\n'
        f'vus = 16\niterations = {iterations}\nmax_duration = "20m"\nworkload = "http"\n'
        f'options = {{ url = "{url}", name = "bench" }}\n'
    )
    out = workdir / "callgrind.out"
    env = dict(os.environ, PYTHONPATH=str(src))
    done = subprocess.run(
        [
            "valgrind",
            "--tool=callgrind",
            f"--callgrind-out-file={out}",
            sys.executable,
            "-m",
            "dmsload",
            "run",
            str(profile),
            "--quiet",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=3600,
        check=False,
    )
    found = re.search(r"Collected : (\d+)", done.stderr)
    if done.returncode != 0 or found is None:
        raise SystemExit(f"{src}: the run failed under valgrind: {done.stderr[-400:]}")
    return int(found.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("trees", nargs="*", type=Path, help="src folders (default: this one)")
    parser.add_argument("--small", type=int, default=500)
    parser.add_argument("--large", type=int, default=2500)
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is missing: apt-get install -y valgrind")
    trees = [tree.resolve() for tree in args.trees] or [ROOT / "src"]
    with nginx({"doc.json": SMALL_JSON}) as base, tempfile.TemporaryDirectory() as tmp:
        url = f"{base}/doc.json"
        for tree in trees:
            small = instructions(tree, url, args.small, Path(tmp))
            large = instructions(tree, url, args.large, Path(tmp))
            per_request = (large - small) / (args.large - args.small)
            print(f"{tree}: {per_request:,.0f} instructions per request", flush=True)


if __name__ == "__main__":
    main()
