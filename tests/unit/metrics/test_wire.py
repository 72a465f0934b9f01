"""Registry state sent by workers and merged by the parent equals one process's state."""

import pickle
import random

from dmsload.metrics import MetricKind, Registry, ValueType, make_tags
from dmsload.metrics.sinks import GaugeSink, TrendSink
from dmsload.metrics.wire import drain, encode, merge_payload


def _define(registry: Registry) -> None:
    registry.define("duration", MetricKind.TREND, ValueType.TIME)
    registry.define("reqs", MetricKind.COUNTER)
    registry.define("failed", MetricKind.RATE)
    registry.define("level", MetricKind.GAUGE)


def _record(registry: Registry, index: int, value_us: int) -> None:
    tags = make_tags({"name": f"n{index % 3}"})
    duration = registry.get("duration")
    reqs, failed, level = registry.get("reqs"), registry.get("failed"), registry.get("level")
    assert duration and reqs and failed and level
    registry.add_trend_us(duration, value_us, tags)
    registry.add(reqs, 1.0, tags)
    registry.add(failed, float(index % 7 == 0), tags)
    registry.add(level, float(value_us % 1000), make_tags({}))


def test_merged_worker_reports_equal_one_process() -> None:
    rng = random.Random(11)
    samples = [int(rng.lognormvariate(8, 1.2)) for _ in range(20_000)]
    samples += [0, 1, 3_600_000_000, 7_200_000_000]  # the edges, and one value that clamps
    whole = Registry()
    _define(whole)
    for i, value in enumerate(samples):
        _record(whole, i, value)

    parent = Registry()
    _define(parent)
    workers = [Registry() for _ in range(3)]
    for worker in workers:
        _define(worker)
    for i, value in enumerate(samples):
        _record(workers[i % 3], i, value)
        if i % 997 == 0:  # a report: what was recorded since the last one, through a pipe
            for worker in workers:
                merge_payload(parent, pickle.loads(pickle.dumps(encode(drain(worker)))))
    for worker in workers:
        merge_payload(parent, pickle.loads(pickle.dumps(encode(drain(worker)))))
        assert not any(m.series for m in worker.metrics())  # drained: nothing twice

    for metric in whole.metrics():
        mine = parent.get(metric.name)
        assert mine is not None and set(mine.series) == set(metric.series), metric.name
        for tags, sink in metric.series.items():
            merged = mine.series[tags]
            if isinstance(sink, TrendSink):
                assert isinstance(merged, TrendSink)
                sink.histogram()  # folds the pending samples in (and counts the clamped)
                assert (merged.samples, merged.sum, merged.min, merged.max, merged.clamped) == (
                    sink.samples, sink.sum, sink.min, sink.max, sink.clamped,
                )  # fmt: skip
                assert list(merged.histogram().counts) == list(sink.histogram().counts)
                for pct in (50, 90, 95, 99, 99.9, 100):
                    assert merged.histogram().get_value_at_percentile(
                        pct
                    ) == sink.histogram().get_value_at_percentile(pct)
            elif isinstance(sink, GaugeSink):
                assert isinstance(merged, GaugeSink)
                assert (merged.samples, merged.min, merged.max, merged.value) == (
                    sink.samples, sink.min, sink.max, sink.value,
                )  # fmt: skip
            else:
                assert [getattr(merged, s) for s in sink.__slots__] == [
                    getattr(sink, s) for s in sink.__slots__
                ]
    for name, aggregation in (("duration", "p(99.9)"), ("reqs", "count"), ("failed", "rate")):
        view, merged_view = whole.view(name), parent.view(name)
        assert view is not None and merged_view is not None
        assert merged_view.value(aggregation, 1.0) == view.value(aggregation, 1.0)


def test_skipped_metrics_stay_the_parent_s() -> None:
    worker, parent = Registry(), Registry()
    worker.define("vus", MetricKind.GAUGE)
    vus = worker.get("vus")
    assert vus is not None
    worker.add(vus, 5.0, make_tags({}))
    merge_payload(parent, encode(drain(worker)), skip=frozenset({"vus"}))
    assert parent.get("vus") is None
