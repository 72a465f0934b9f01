"""The live progress lines: one per scenario, in place on a terminal, plain text otherwise."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TextIO

from dmsload.durations import format_duration
from dmsload.engine.scenario import ScenarioRuntime


def _clock(ns: int) -> str:
    seconds = max(0, ns) / 1e9
    minutes, secs = divmod(seconds, 60)
    hours, minutes = divmod(int(minutes), 60)
    if hours:
        return f"{hours}h{minutes:02d}m{secs:04.1f}s"
    return f"{minutes:02d}m{secs:04.1f}s"


class ProgressPrinter:
    """Renders each scenario's elapsed/total time, VUs, iterations, req/s and error rate."""

    def __init__(self, runtimes: Sequence[ScenarioRuntime], stream: TextIO, *, live: bool) -> None:
        self.runtimes = runtimes
        self.stream = stream
        self.live = live
        self._width = max((len(rt.name) for rt in runtimes), default=7)
        self._last_requests = {rt.name: 0 for rt in runtimes}
        self._drawn = 0

    def line(self, rt: ScenarioRuntime, interval_s: float) -> str:
        """One scenario's progress line."""
        cfg = rt.config
        p = rt.progress
        total = cfg.regular_duration_ns()
        elapsed = rt.elapsed_ns() if p.started else 0
        if not p.started:
            state = f"waiting, starts at {format_duration(cfg.start_time)}"
        elif p.finished:
            state = "done"
        else:
            pct = min(100.0, 100.0 * elapsed / total) if total else 100.0
            state = f"{pct:5.1f}%"
        counters = rt.recorder.counters
        delta = counters.requests - self._last_requests[rt.name]
        self._last_requests[rt.name] = counters.requests
        rps = delta / interval_s if interval_s > 0 else 0.0
        err = 100.0 * counters.failed / counters.requests if counters.requests else 0.0
        planned = cfg.progress_total()
        iters = f"{p.completed}" + (f"/{planned}" if planned is not None else "")
        extra = ""
        if p.interrupted:
            extra += f" {p.interrupted} interrupted"
        if p.dropped:
            extra += f" {p.dropped} dropped"
        return (
            f"{rt.name:<{self._width}} {state:>6} {_clock(min(elapsed, total))}/{_clock(total)}"
            f"  VUs {p.active_vus}/{p.allocated_vus}  iters {iters}{extra}"
            f"  req/s {rps:.1f}  errors {err:.2f}%"
        )

    def draw(self, interval_s: float, elapsed_ns: int) -> None:
        """Print (or redraw in place) every scenario's line."""
        lines = [f"running ({_clock(elapsed_ns)})"] + [
            self.line(rt, interval_s) for rt in self.runtimes
        ]
        if self.live:
            if self._drawn:
                self.stream.write(f"\x1b[{self._drawn}F")
            for text in lines:
                self.stream.write("\x1b[2K" + text + "\n")
            self._drawn = len(lines)
        else:
            self.stream.write("\n".join(lines) + "\n")
        self.stream.flush()
