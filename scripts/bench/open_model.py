"""Open model against nginx: dmsload and k6 side by side, `constant-arrival-rate`, one GET each.

nginx serves a small JSON file, pinned to CPU 1; dmsload and k6 are each pinned to CPU 0 and
run one after the other at each rate (2,000/s and 5,000/s by default) with the same VU pool.
For each tool and rate it prints:

- start lateness p50/p99/max: dmsload's `iteration_start_lateness`, how long after its
  scheduled time each iteration began (k6 has no such metric: its lateness cannot be measured);
- intended p50/p99/max: dmsload's `http_req_latency_intended`, from each iteration's scheduled
  start to the end of its request (k6 has no such metric either);
- `http_req_duration` p50/p99, the completed req/s and `dropped_iterations`;
- CPU µs per request of the load phase alone: (CPU of a long run - CPU of a short run) /
  (requests of the long run - requests of the short run), so start-up cancels out.

`--find-max` instead finds, for each tool, the highest rate it holds with no dropped
iteration: `--step-duration` runs from `--start-rate` up by `--rate-step` until a run drops
(bounded by `--max-rate`), then `--refine` halvings between the last rate held and the first
that dropped.

    python scripts/bench/open_model.py [--rates 2000,5000] [--duration 10] [--vus 100]
    python scripts/bench/open_model.py --find-max [--start-rate 4000] [--rate-step 1000]
    python scripts/bench/open_model.py --src /tmp/old   # dmsload from another tree's src/
    python scripts/bench/open_model.py --csv       # both also stream every sample to --out csv

Load goes to 127.0.0.1 only; every run is bounded by its duration plus a minute.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from peers import (
    DMSLOAD,
    SMALL_JSON,
    cpu_of,
    ensure_k6,
    k6_version,
    load_phase_us,
    machine,
    nginx,
    taskset,
)

NAN = float("nan")


@dataclass
class Row:
    """One tool at one rate: what its summary export and its CPU said."""

    rate: int
    requests: float = 0.0
    duration_s: float = 1.0
    dropped: float = 0.0
    p50_ms: float = NAN
    p99_ms: float = NAN
    intended: tuple[float, float, float] = (NAN, NAN, NAN)
    lateness: tuple[float, float, float] = (NAN, NAN, NAN)
    cpu_us: float = NAN
    notes: list[str] = field(default_factory=list)

    @property
    def req_s(self) -> float:
        return self.requests / self.duration_s


def _stats(metric: dict[str, float] | None) -> tuple[float, float, float]:
    if not metric:
        return (NAN, NAN, NAN)
    return (metric.get("med", NAN), metric.get("p(99)", NAN), metric.get("max", NAN))


def read_export(path: Path, rate: int, duration_s: int) -> Row:
    """A Row from a k6-format summary export (dmsload's and k6's share the field names)."""
    metrics = json.loads(path.read_text())["metrics"]
    duration = metrics.get("http_req_duration", {})
    return Row(
        rate=rate,
        requests=metrics.get("http_reqs", {}).get("count", 0.0),
        duration_s=duration_s,
        dropped=metrics.get("dropped_iterations", {}).get("count", 0.0),
        p50_ms=duration.get("med", NAN),
        p99_ms=duration.get("p(99)", NAN),
        intended=_stats(metrics.get("http_req_latency_intended")),
        lateness=_stats(metrics.get("iteration_start_lateness")),
    )


class Tool:
    """How to run one tool at a rate and read back its export."""

    name = ""

    def command(self, url: str, rate: int, duration_s: int, vus: int, work: Path) -> list[str]:
        raise NotImplementedError

    env: dict[str, str] | None = None
    csv_out = False
    """Both tools also stream every sample to a CSV file (`--out csv=...`), as a CI job would."""

    def run(self, url: str, rate: int, duration_s: int, vus: int, work: Path) -> tuple[Row, float]:
        """One pinned run: its Row and the CPU seconds it used."""
        export = work / f"{self.name}.json"
        export.unlink(missing_ok=True)
        command = self.command(url, rate, duration_s, vus, work)
        if self.csv_out:  # before the trailing --summary-export
            command[-1:-1] = ["--out", f"csv={work / (self.name + '.csv')}"]
        cmd = [*taskset("0"), *command, str(export)]
        measured = cpu_of(cmd, duration_s + 60, env=self.env)
        if not export.exists():
            raise SystemExit(f"{self.name} wrote no summary (exit {measured.returncode})")
        return read_export(export, rate, duration_s), measured.cpu_s


class Dmsload(Tool):
    name = "dmsload"

    def __init__(self, src: Path | None) -> None:
        if src is not None:
            self.env = {**os.environ, "PYTHONPATH": str(src / "src")}

    def command(self, url: str, rate: int, duration_s: int, vus: int, work: Path) -> list[str]:
        profile = work / "open.toml"
        profile.write_text(
            'summary_trend_stats = ["med", "p(99)", "max"]\n'
            "[scenarios.open]\n"
            'executor = "constant-arrival-rate"\n'
            f'rate = {rate}\nduration = "{duration_s}s"\n'
            f"pre_allocated_vus = {vus}\nmax_vus = {vus}\n"
            'workload = "http"\n'
            f'options = {{ url = "{url}/doc.json", name = "doc" }}\n'
        )
        return [sys.executable, "-m", "dmsload", "run", str(profile), "--quiet", "--summary-export"]


class K6(Tool):
    name = "k6"

    def __init__(self, binary: Path) -> None:
        self.binary = binary

    def command(self, url: str, rate: int, duration_s: int, vus: int, work: Path) -> list[str]:
        script = work / "open.js"
        script.write_text(
            "import http from 'k6/http';\n"
            "export const options = { summaryTrendStats: ['med', 'p(99)', 'max'], scenarios: {"
            f" open: {{ executor: 'constant-arrival-rate', rate: {rate}, timeUnit: '1s',"
            f" duration: '{duration_s}s', preAllocatedVUs: {vus}, maxVUs: {vus} }} }} }};\n"
            f"export default function () {{ http.get('{url}/doc.json'); }}\n"
        )
        return [str(self.binary), "run", "--quiet", str(script), "--summary-export"]


def measure(tool: Tool, url: str, rate: int, args: argparse.Namespace, work: Path) -> Row:
    """The long run's figures, with load-phase CPU per request from it and a short run."""
    short, short_cpu = tool.run(url, rate, args.short, args.vus, work)
    row, cpu = tool.run(url, rate, args.duration, args.vus, work)
    row.cpu_us = load_phase_us((short_cpu, short.requests), (cpu, row.requests))
    return row


def _ms(values: tuple[float, float, float], digits: int) -> str:
    if any(math.isnan(v) for v in values):
        return "n/a"
    return "/".join(f"{v:.{digits}f}" for v in values)


def print_rows(rows: dict[str, list[Row]]) -> None:
    head = (
        f"{'rate/s':>7} {'tool':<8} {'req/s':>7} {'dropped':>7} "
        f"{'lateness p50/p99/max ms':>24} {'intended p50/p99/max ms':>24} "
        f"{'duration p50/p99 ms':>20} {'CPU µs/req':>10}"
    )
    print(head)
    rates = sorted({row.rate for tool_rows in rows.values() for row in tool_rows})
    for rate in rates:
        for tool, tool_rows in rows.items():
            for row in (r for r in tool_rows if r.rate == rate):
                print(
                    f"{rate:>7} {tool:<8} {row.req_s:>7.0f} {row.dropped:>7.0f} "
                    f"{_ms(row.lateness, 3):>24} {_ms(row.intended, 2):>24} "
                    f"{_ms((row.p50_ms, row.p99_ms, 0.0), 2).rsplit('/', 1)[0]:>20} "
                    f"{row.cpu_us:>10.1f}"
                )
    if "k6" in rows:
        print(
            "k6: lateness and intended latency n/a: k6 records neither (it has no metric for "
            "when an iteration was due), so only dmsload's can be shown."
        )


def find_max(tool: Tool, url: str, args: argparse.Namespace, work: Path) -> str:
    """The highest rate that ran with no dropped iteration: up by --rate-step until a run
    drops, then --refine halvings of the last step (each one more run)."""

    def holds(rate: int) -> bool:
        row, _cpu = tool.run(url, rate, args.step_duration, args.vus, work)
        print(
            f"  {tool.name:<8} {rate:>6}/s: {row.req_s:>7.0f} req/s, {row.dropped:.0f} dropped",
            flush=True,
        )
        return row.dropped == 0

    held, failed = 0, 0
    rate = args.start_rate
    while rate <= args.max_rate:
        if not holds(rate):
            failed = rate
            break
        held = rate
        rate += args.rate_step
    if not failed:
        return f"at least {held}/s (no drop up to --max-rate)"
    if not held:
        return f"below {failed}/s (the first rate tried dropped; lower --start-rate)"
    for _ in range(args.refine):
        middle = (held + failed) // 2
        if middle in (held, failed):
            break
        if holds(middle):
            held = middle
        else:
            failed = middle
    return f"{held}/s ({failed}/s dropped)"


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rates", default="2000,5000", help="comma-separated rates per second")
    parser.add_argument("--duration", type=int, default=10, help="seconds of each measured run")
    parser.add_argument("--short", type=int, default=3, help="seconds of the start-up run")
    parser.add_argument("--vus", type=int, default=100, help="pre-allocated (and max) VUs")
    parser.add_argument("--no-k6", action="store_true", help="skip the k6 peer")
    parser.add_argument("--src", type=Path, help="run dmsload from this tree's src/ instead")
    parser.add_argument("--find-max", action="store_true", help="find each tool's no-drop rate")
    parser.add_argument(
        "--csv", action="store_true", help="both tools also write every sample to --out csv"
    )
    parser.add_argument("--start-rate", type=int, default=4000)
    parser.add_argument("--rate-step", type=int, default=1000)
    parser.add_argument("--max-rate", type=int, default=20000)
    parser.add_argument("--step-duration", type=int, default=10)
    parser.add_argument("--refine", type=int, default=2, help="halvings after the first drop")
    args = parser.parse_args()
    Tool.csv_out = args.csv
    tools: list[Tool] = [Dmsload(args.src)]
    k6 = None if args.no_k6 else ensure_k6()
    if k6 is not None:
        tools.append(K6(k6))
    print(f"machine: {machine()}")
    version = subprocess.run(
        [sys.executable, "-m", "dmsload", "--version"],
        capture_output=True,
        text=True,
        check=False,
        env=tools[0].env,
    ).stdout.strip()
    print(f"dmsload: {version or DMSLOAD}" + (f" from {args.src}/src" if args.src else ""))
    print(f"k6: {k6_version(k6)}" if k6 is not None else "k6: not run (--no-k6 or not installed)")
    print(
        f"target: nginx (1 worker, CPU 1) serving {len(SMALL_JSON)} bytes of JSON; tools on "
        f"CPU 0; constant-arrival-rate, {args.vus} VUs, loopback"
    )
    with nginx({"doc.json": SMALL_JSON}) as url, tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        if args.find_max:
            print(
                f"find-max: {args.step_duration} s runs from {args.start_rate}/s up by "
                f"{args.rate_step}/s to at most {args.max_rate}/s, until one drops"
            )
            held = {tool.name: find_max(tool, url, args, work) for tool in tools}
            for name, text in held.items():
                print(f"{name}: highest rate with no dropped iteration: {text}")
            return
        print(
            f"each rate: a {args.duration} s run (shown) and a {args.short} s run (for the "
            "load phase's CPU per request)"
        )
        rows: dict[str, list[Row]] = {tool.name: [] for tool in tools}
        for rate in (int(r) for r in args.rates.split(",")):
            for tool in tools:
                rows[tool.name].append(measure(tool, url, rate, args, work))
        print_rows(rows)
    print(f"load average at the end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
