"""What to do about a run: the report's recommendations, read from a summary's figures.

Each rule looks for one symptom the test strategy names and says, in one sentence, what it
means and what to change: a latency threshold failed or close to its limit; more than 1% of
requests failed; iterations were dropped (add VUs); the load generator's own CPU was saturated
(use --workers); 429 storms (the DMS rate limit); 503s (the DMS circuit breaker); and latency
measured from the intended start far above the service time (coordinated omission: requests
queued in the generator or the server). `recommendations` is pure: the same summary always
gives the same list, in rule order; an empty list means no problems were found.

The helpers that select series by tags (`view_where`, `status_counts`) are shared with the
HTML report, so its tables and these sentences agree.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

from dmsload.metrics.kinds import SETUP_SCENARIO, TagSet, ValueType, tags_match
from dmsload.metrics.registry import MetricView, Registry
from dmsload.metrics.sinks import CounterSink, RateSink, Sink
from dmsload.metrics.thresholds import ThresholdError, parse_metric_selector, parse_threshold
from dmsload.outputs.summary_json import LoadedSummary

"""The `scenario` tag of the requests a profile's setup sends before the load starts."""

NO_PROBLEMS = "No problems found: every rule the report knows about came out clean."
"""What the report says when `recommendations` returns nothing."""

NEAR_LIMIT = 0.8
"""A passing latency threshold whose observed value is at least this share of its limit."""
FAILED_RATE_LIMIT = 0.01
"""More than this share of failed requests is worth a recommendation."""
RATE_LIMITED_SHARE = 0.01
"""More than this share of 429 responses means the DMS rate limit was reached."""
CPU_SATURATED_PERCENT = 90.0
"""The generator's CPU (% of one core) at or above which its 90th percentile means saturation."""
OMISSION_RATIO = 2.0
"""http_req_latency_intended p99 at least this many times http_req_duration p99 ..."""
OMISSION_MIN_GAP_MS = 50.0
"""... and at least this many ms above it, so scheduling noise on fast targets is ignored."""

TagPredicate = Callable[[Mapping[str, str]], bool]


def is_setup(tags: Mapping[str, str]) -> bool:
    """Whether a series belongs to the pre-load setup requests."""
    return tags.get("scenario") == SETUP_SCENARIO


def is_load(tags: Mapping[str, str]) -> bool:
    """Whether a series belongs to the load itself (not the setup requests)."""
    return not is_setup(tags)


def view_where(
    registry: Registry, name: str, keep: TagPredicate, tag_filter: TagSet = ()
) -> MetricView | None:
    """The metric `name` aggregated over the series matching `tag_filter` that `keep` accepts;
    None when no series qualifies."""
    return registry.view(name, tag_filter, keep=lambda tags: keep(dict(tags)))


def group_by_tag(
    registry: Registry, name: str, tag: str, keep: TagPredicate = is_load, tag_filter: TagSet = ()
) -> dict[str, MetricView]:
    """One view per value of `tag` (series without the tag are left out), by value."""
    metric = registry.get(name)
    if metric is None:
        return {}
    groups: dict[str, list[Sink]] = {}
    for tags, sink in metric.series.items():
        mapping = dict(tags)
        value = mapping.get(tag)
        if value is not None and tags_match(tags, tag_filter) and keep(mapping):
            groups.setdefault(value, []).append(sink)
    views = {value: MetricView(metric, groups[value]) for value in sorted(groups)}
    return views


def status_counts(registry: Registry, keep: TagPredicate = is_load) -> dict[str, int]:
    """Responses per `status` tag (from http_reqs), most frequent first."""
    metric = registry.get("http_reqs")
    counts: dict[str, int] = {}
    if metric is not None:
        for tags, sink in metric.series.items():
            mapping = dict(tags)
            if isinstance(sink, CounterSink) and keep(mapping):
                status = mapping.get("status", "")
                counts[status] = counts.get(status, 0) + int(sink.total)
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))


def _responses(count: int) -> str:
    return "1 response was" if count == 1 else f"{count:,} responses were"


def _ms(value: float) -> str:
    return f"{value:,.0f} ms" if value >= 100 else f"{value:,.1f} ms"


def _format(value: float, is_time: bool) -> str:
    return _ms(value) if is_time else f"{value:,.4g}"


def _slowest(summary: LoadedSummary, name: str, tags: TagSet, pct: float) -> str:
    """`; slowest: NAME (p(95) 812 ms)` for the request name with the highest percentile."""
    worst: tuple[float, str] | None = None
    for request, view in group_by_tag(summary.registry, name, "name", tag_filter=tags).items():
        if view.count:
            observed = view.percentile(pct)
            if worst is None or observed > worst[0]:
                worst = (observed, request)
    if worst is None:
        return ""
    return f"; slowest: {worst[1]} (p({pct:g}) {_ms(worst[0])})"


def latency_thresholds(summary: LoadedSummary) -> list[str]:
    """Percentile thresholds that failed, or that passed within NEAR_LIMIT of their limit."""
    out: list[str] = []
    for entry in summary.document.get("thresholds") or []:
        observed = entry.get("observed")
        if observed is None:
            continue
        try:
            threshold = parse_threshold(str(entry["expression"]))
            name, tags = parse_metric_selector(str(entry["metric"]))
        except (KeyError, ThresholdError):
            continue
        if not threshold.aggregation.startswith("p(") or threshold.operator not in ("<", "<="):
            continue
        metric = summary.registry.get(name)
        is_time = metric is None or metric.contains is ValueType.TIME
        limit = threshold.value
        pct = float(threshold.aggregation[2:-1])
        what = f"{threshold.aggregation} of {entry['metric']}"
        if entry.get("ok") is False:
            out.append(
                f"High latency: {what} was {_format(observed, is_time)}, above its target of "
                f"{_format(limit, is_time)}{_slowest(summary, name, tags, pct)}. The target "
                "(DMS, database or network) cannot serve this load within the target: "
                "profile the slowest requests, or lower the load to find the capacity."
            )
        elif entry.get("ok") is True and limit > 0 and observed >= NEAR_LIMIT * limit:
            out.append(
                f"Little latency headroom: {what} was {_format(observed, is_time)}, "
                f"{observed / limit:.0%} of its target of {_format(limit, is_time)}"
                f"{_slowest(summary, name, tags, pct)}. A little more load will fail it."
            )
    return out


def failed_requests(summary: LoadedSummary) -> list[str]:
    """More than 1% of the requests failed (http_req_failed), with the statuses behind it."""
    view = summary.registry.view("http_req_failed")
    if view is None:
        return []
    trues, samples = view.rate_parts()
    if not samples or trues / samples <= FAILED_RATE_LIMIT:
        return []
    by_status: dict[str, int] = {}
    for tags, sink in view.metric.series.items():
        if isinstance(sink, RateSink) and sink.trues:
            status = dict(tags).get("status", "?")
            by_status[status] = by_status.get(status, 0) + sink.trues
    top = sorted(by_status.items(), key=lambda item: (-item[1], item[0]))[:4]
    statuses = ", ".join(
        f"{'no response' if status == '0' else status} ×{count:,}" for status, count in top
    )
    return [
        f"Error rate {trues / samples:.2%} is above 1%: {trues:,} of {samples:,} requests failed"
        f" ({statuses}). Check the failing request names below and the DMS logs; figures "
        "measured while the target fails are not its capacity."
    ]


def dropped_iterations(summary: LoadedSummary) -> list[str]:
    """Arrival-rate executors ran out of VUs: add VUs."""
    view = summary.registry.view("dropped_iterations")
    dropped = view.counter_total() if view is not None else 0.0
    if dropped <= 0:
        return []
    scenarios = [
        scenario
        for scenario, item in group_by_tag(
            summary.registry, "dropped_iterations", "scenario"
        ).items()
        if item.counter_total() > 0
    ]
    where = ""
    if scenarios:
        where = f" (scenario{'s' if len(scenarios) > 1 else ''} {', '.join(scenarios)})"
    return [
        f"{dropped:,.0f} iterations were dropped{where}: the executor had no free VU when they "
        "were due, so the offered load was lower than the profile asks. Add VUs: raise "
        "pre_allocated_vus and max_vus (a VU can run about 1 / latency iterations per second)."
    ]


def generator_cpu(summary: LoadedSummary) -> list[str]:
    """The load generator's own CPU at p90 >= 90% of a core: it, not the target, set the pace."""
    series = (summary.timeseries or {}).get("cpu_percent") or []
    samples = sorted(float(value) for value in series if isinstance(value, int | float))
    if not samples:
        return []
    p90 = samples[math.ceil(0.9 * len(samples)) - 1]  # nearest rank
    if p90 < CPU_SATURATED_PERCENT:
        return []
    return [
        f"The load generator was saturated: its CPU was at {p90:.0f}% of a core or more in "
        "a tenth of the seconds (p90), so its own queueing inflates latencies and caps the "
        "rate. Use --workers to spread the load over more processes, or run on more machines."
    ]


def rate_limited(summary: LoadedSummary) -> list[str]:
    """More than 1% of responses were 429: the DMS rate limit was reached."""
    counts = status_counts(summary.registry, keep=lambda tags: True)
    total = sum(counts.values())
    limited = counts.get("429", 0)
    if not total or limited / total <= RATE_LIMITED_SHARE:
        return []
    return [
        f"DMS rate limit reached: {_responses(limited)} 429 Too Many Requests "
        f"({limited / total:.1%} of all responses). The DMS limits requests per Host header "
        "in a fixed window (20,000 per 10 s by default): raise DMS_RATE_LIMIT_PERMIT_LIMIT "
        "(or DMS_RATE_LIMIT_WINDOW), or vary the Host header so each value gets its own bucket."
    ]


def circuit_breaker(summary: LoadedSummary) -> list[str]:
    """503 responses: the DMS circuit breaker (or a proxy in front of it) refused requests."""
    counts = status_counts(summary.registry, keep=lambda tags: True)
    unavailable = counts.get("503", 0)
    if not unavailable:
        return []
    return [
        f"{_responses(unavailable)} 503 Service Unavailable: the DMS circuit breaker "
        "probably opened. It opens when 10% of backend calls fail over 120 s (at least 20 "
        "calls) and then refuses every document read and write for 30 s (Retry-After: 30). "
        "Find the backend failures that tripped it in the DMS and database logs."
    ]


def coordinated_omission(summary: LoadedSummary) -> list[str]:
    """http_req_latency_intended p99 far above http_req_duration p99 for the same scenarios."""
    registry = summary.registry
    intended = view_where(registry, "http_req_latency_intended", is_load)
    if intended is None or not intended.count:
        return []
    scenarios = set(group_by_tag(registry, "http_req_latency_intended", "scenario"))
    duration = view_where(
        registry,
        "http_req_duration",
        lambda tags: is_load(tags) and (not scenarios or tags.get("scenario") in scenarios),
    )
    if duration is None or not duration.count:
        return []
    intended_p99 = intended.percentile(99)
    service_p99 = duration.percentile(99)
    if intended_p99 < OMISSION_RATIO * service_p99 or (
        intended_p99 - service_p99 < OMISSION_MIN_GAP_MS
    ):
        return []
    return [
        f"Requests waited before being sent: http_req_latency_intended p(99) is "
        f"{_ms(intended_p99)} against http_req_duration p(99) {_ms(service_p99)}. Iterations "
        "started late (coordinated omission): they queued in the generator (too few VUs, a "
        "busy CPU) or behind a stalled server; users would see the intended latency."
    ]


def failed_checks(summary: LoadedSummary) -> list[str]:
    """Checks that failed at least once, the worst first."""
    failing = [
        (int(entry.get("fails") or 0), str(entry.get("name", "")))
        for entry in summary.document.get("checks") or []
        if entry.get("fails")
    ]
    if not failing:
        return []
    failing.sort(key=lambda item: (-item[0], item[1]))
    names = "; ".join(f"'{name}' ×{fails:,}" for fails, name in failing[:3])
    more = f" and {len(failing) - 3} more" if len(failing) > 3 else ""
    return [
        f"Checks failed: {names}{more}. Responses did not have the expected content; see the "
        "checks table."
    ]


Rule = Callable[[LoadedSummary], list[str]]

RULES: tuple[Rule, ...] = (
    latency_thresholds,
    failed_requests,
    rate_limited,
    circuit_breaker,
    dropped_iterations,
    generator_cpu,
    coordinated_omission,
    failed_checks,
)
"""Every rule, in the order the report lists its findings."""


def recommendations(summary: LoadedSummary) -> list[str]:
    """Every finding of every rule, in rule order; [] when there is nothing to recommend."""
    out: list[str] = []
    for rule in RULES:
        out.extend(rule(summary))
    return out
