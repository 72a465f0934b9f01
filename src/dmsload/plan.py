"""The plan `dmsload validate` prints: what each scenario will do, without sending a request."""

from __future__ import annotations

from dmsload.durations import format_duration
from dmsload.engine.executors import (
    ConstantArrivalRateConfig,
    RampingArrivalRateConfig,
    RampingVUsConfig,
)
from dmsload.profile import Profile

_MAX_STEPS = 12


def _vu_steps(config: RampingVUsConfig) -> str:
    steps = config.vu_plan()
    if len(steps) > _MAX_STEPS:
        # keep the stage boundaries: where each stage ends
        offsets = {0}
        t = 0
        for stage in config.stages:
            t += stage.duration
            offsets.add(t)
        counts = []
        for offset in sorted(offsets):
            vus = [v for o, v in steps if o <= offset][-1]
            counts.append((offset, vus))
        steps = counts
    return ", ".join(f"{format_duration(o)}→{v}" for o, v in steps)


def render_plan(profile: Profile) -> list[str]:
    """Lines describing every scenario, its timeline and the thresholds."""
    lines = [f"profile: {profile.name} ({profile.source})"]
    if profile.description:
        lines.append(f"  {profile.description}")
    if profile.segment is not None:
        part = profile.segment.part
        lines.append(
            f"  execution segment: {part.segment} of {len(part.sequence)} parts "
            f"({', '.join(str(s) for s in part.sequence)}): part {part.index + 1}'s share below"
        )
    if profile.time_scale != 1.0:
        lines.append(f"  time scale: x{profile.time_scale:g} (durations scaled, rates unchanged)")
    lines.append(
        f"  {len(profile.scenarios)} scenario(s), at most "
        f"{format_duration(profile.total_duration_ns())} including graceful stops"
    )
    for name, scenario in profile.scenarios.items():
        cfg = scenario.config
        start = cfg.start_time
        end = start + cfg.regular_duration_ns()
        lines.append("")
        lines.append(f"  scenario {name}: {cfg.kind}")
        lines.append(f"    {cfg.describe()}")
        lines.append(
            f"    runs {format_duration(start)} → {format_duration(end)}, hard stop at "
            f"{format_duration(end + cfg.graceful_stop)}; up to {cfg.peak_vus()} VUs"
        )
        if isinstance(cfg, RampingVUsConfig):
            lines.append(f"    VUs over time: {_vu_steps(cfg)}")
        elif isinstance(cfg, RampingArrivalRateConfig):
            rates = ", ".join(f"{format_duration(o)}→{r:g}/s" for o, r in cfg.rate_plan())
            lines.append(f"    rate over time: {rates}")
        total = cfg.progress_total()
        if total is not None:
            lines.append(f"    iterations planned: {total}")
        if isinstance(cfg, ConstantArrivalRateConfig | RampingArrivalRateConfig):
            lines.append(
                f"    VU pool: {cfg.pre_allocated_vus} pre-allocated, up to {cfg.vu_ceiling()}"
            )
        lines.append(f"    workload: {scenario.workload.name} ({scenario.workload.summary})")
        if cfg.tags:
            tags = ", ".join(f"{k}={v}" for k, v in cfg.tags.items())
            lines.append(f"    tags: {tags}")
    lines.append("")
    if profile.thresholds:
        lines.append("  thresholds:")
        for selector, rules in profile.thresholds.items():
            for rule in rules:
                flags = []
                if rule.abort_on_fail:
                    flags.append("abort_on_fail")
                if rule.delay_abort_eval_s is not None:
                    flags.append(
                        f"delay_abort_eval {format_duration(rule.delay_abort_eval_s * 1e9)}"
                    )
                suffix = f" [{', '.join(flags)}]" if flags else ""
                lines.append(f"    {selector}: {rule.source}{suffix}")
    else:
        lines.append("  thresholds: none (the run always exits 0 unless interrupted)")
    return lines
