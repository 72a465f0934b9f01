"""Sinks: exact stats, HDR percentiles, batched recording equal to hdrhistogram's own."""

from __future__ import annotations

import random

import pytest

from dmsload.metrics.kinds import MetricError
from dmsload.metrics.sinks import (
    _PLACE_SLICE,
    _TALLY_SLICE,
    HDR_HIGHEST_US,
    CounterSink,
    GaugeSink,
    RateSink,
    TrendSink,
    new_histogram,
    record_many,
)


def test_record_many_matches_record_value_bucket_for_bucket() -> None:
    rng = random.Random(7)
    values = [rng.randint(0, 5_000_000) for _ in range(5000)]
    values += [0, 1, 2047, 2048, 4095, 4096, 10**9, HDR_HIGHEST_US]
    ours, theirs = new_histogram(), new_histogram()
    assert record_many(ours, values) == 0
    for value in values:
        assert theirs.record_value(value)
    assert list(ours.counts) == list(theirs.counts)
    assert ours.total_count == theirs.total_count == len(values)
    assert ours.get_min_value() == theirs.get_min_value()
    assert ours.get_max_value() == theirs.get_max_value()
    for pct in (50, 90, 99, 99.9):
        assert ours.get_value_at_percentile(pct) == theirs.get_value_at_percentile(pct)


def test_record_many_of_repeated_values_matches_record_value() -> None:
    """Latency batches repeat values (and keep-alive connect times are all 0): each distinct
    value is placed once with its count, bucket for bucket as one at a time."""
    rng = random.Random(3)
    values = [0] * 700 + [rng.choice([1, 17, 250, 251, 4096, 80_000]) for _ in range(3000)]
    values += [rng.randint(0, 3000) for _ in range(1000)] + [HDR_HIGHEST_US * 3] * 4
    rng.shuffle(values)
    ours, theirs = new_histogram(), new_histogram()
    assert record_many(ours, values[:2000]) + record_many(ours, values[2000:]) == 4
    for value in values:
        assert theirs.record_value(min(value, HDR_HIGHEST_US))
    assert list(ours.counts) == list(theirs.counts)
    assert ours.total_count == theirs.total_count == len(values)
    assert ours.get_min_value() == theirs.get_min_value() == 0
    assert ours.get_max_value() == theirs.get_max_value()


def test_values_above_the_range_are_clamped_and_counted() -> None:
    hist = new_histogram()
    assert record_many(hist, [HDR_HIGHEST_US * 2, 5]) == 1
    assert hist.total_count == 2


def test_trend_keeps_exact_stats_and_percentiles_within_hdr_precision() -> None:
    rng = random.Random(1)
    values = [rng.randint(100, 2_000_000) for _ in range(20_000)]
    sink = TrendSink()
    for value in values:
        sink.add_scaled(value)
    assert sink.samples == len(values)
    assert sink.sum == sum(values)
    assert sink.min == min(values)
    assert sink.max == max(values)
    ordered = sorted(values)
    hist = sink.histogram()
    for pct in (50, 95, 99):
        exact = ordered[int(pct / 100 * len(ordered)) - 1]
        assert hist.get_value_at_percentile(pct) == pytest.approx(exact, rel=2e-3)


def test_trend_memory_is_bounded_by_the_flush_batch() -> None:
    sinks = [TrendSink() for _ in range(10)]
    # each sink folds at its own batch size (staggered, so that the sinks of one request do
    # not all fold at once), never more than 2,048 + 7 x 128
    assert all(2048 <= sink._flush_at <= 2944 for sink in sinks)
    assert len({sink._flush_at for sink in sinks}) > 1
    for sink in sinks:
        for value in range(100_000):
            sink.add_scaled(value % 997)
        assert len(sink._pending) < sink._flush_at
        assert sink.histogram().total_count == 100_000


def test_a_full_batch_is_folded_a_slice_per_add_and_reads_mid_fold_are_exact() -> None:
    """A batch's ~2,000 distinct latencies cost over a millisecond to fold at once (a stall of
    the event loop): each add tallies or places one slice, and a read folds the rest."""
    sink = TrendSink()
    batch = sink._flush_at
    values = list(range(1, batch + 1))  # all distinct: one histogram slot each
    for value in values:
        sink.add_scaled(value)
    assert sink._hist is None and len(sink._raw) == batch  # stats folded, values not yet placed
    totals = [0]
    steps = 0
    while sink._trigger == 0:  # each add does one step
        value = batch + 1 + steps
        sink.add_scaled(value)
        values.append(value)
        steps += 1
        total = 0 if sink._hist is None else sink._hist.total_count
        assert 0 <= total - totals[-1] <= _PLACE_SLICE
        totals.append(total)
        assert steps < 100
    assert totals[-1] == batch
    assert steps == -(-batch // _TALLY_SLICE) + -(-batch // _PLACE_SLICE)
    value = 3 * batch
    while sink._trigger != 0:  # a second batch, read in the middle of its fold
        value += 1
        sink.add_scaled(value)
        values.append(value)
    for _ in range(5):
        sink.add_scaled(1)
        values.append(1)
    assert sink._trigger == 0 and sink._placing is not None  # placing, more to come
    reference = new_histogram()
    for recorded in values:
        reference.record_value(recorded)
    assert (sink.samples, sink.sum, sink.min, sink.max) == (len(values), sum(values), 1, value)
    assert list(sink.histogram().counts) == list(reference.counts)
    assert sink.histogram().total_count == len(values)
    assert sink._trigger == sink._flush_at and not sink._pending


def test_fold_pending_folds_what_is_recorded_one_bounded_step_at_a_time() -> None:
    sink = TrendSink()
    assert not sink.fold_pending()  # nothing recorded
    values = list(range(1, 1501))  # below a batch: only a read or fold_pending folds them
    for value in values:
        sink.add_scaled(value)
    steps = 0
    while sink.fold_pending():
        steps += 1
        placed = 0 if sink._hist is None else sink._hist.total_count
        assert placed <= steps * _PLACE_SLICE
    assert steps == -(-1500 // _TALLY_SLICE) + -(-1500 // _PLACE_SLICE)  # start, tally, place
    assert sink._hist.total_count == 1500 and not sink._pending
    assert not sink.fold_pending()
    assert (sink.samples, sink.sum, sink.min, sink.max) == (1500, sum(values), 1, 1500)


def test_trend_add_takes_display_units_and_refuses_negatives() -> None:
    sink = TrendSink()
    sink.add(1.5)  # 1.5 ms
    assert sink.sum == 1500
    with pytest.raises(MetricError, match=">= 0"):
        sink.add(-1)


def test_trend_merge_is_lossless() -> None:
    left, right, both = TrendSink(), TrendSink(), TrendSink()
    for value in range(1, 3000):
        (left if value % 2 else right).add_scaled(value)
        both.add_scaled(value)
    left.merge(right)
    assert (left.samples, left.sum, left.min, left.max) == (
        both.samples,
        both.sum,
        both.min,
        both.max,
    )
    assert list(left.histogram().counts) == list(both.histogram().counts)


def test_counter_gauge_and_rate() -> None:
    counter = CounterSink()
    counter.add(2)
    counter.add(3)
    assert (counter.total, counter.samples) == (5, 2)
    gauge = GaugeSink()
    for value in (3, 9, 1, 4):
        gauge.add(value)
    assert (gauge.value, gauge.min, gauge.max) == (4, 1, 9)
    rate = RateSink()
    for value in (1, 0, 1, 1):
        rate.add(value)
    assert (rate.trues, rate.samples, rate.rate) == (3, 4, 0.75)
    assert RateSink().rate == 0.0


def test_a_trend_batch_of_one_value_folds_as_one_at_a_time() -> None:
    """A batch holding one value throughout (keep-alive connect and TLS phases: all 0, or
    all over the histogram's range) is placed at once, as record_value would place it."""
    for value, batches in ((0, 3), (731, 2), (HDR_HIGHEST_US * 2, 2)):
        sink = TrendSink()
        theirs = new_histogram()
        for _ in range(batches * 3000):
            sink.add_scaled(value)
            theirs.record_value(min(value, HDR_HIGHEST_US))
        assert list(sink.histogram().counts) == list(theirs.counts)
        assert sink.histogram().total_count == theirs.total_count == batches * 3000
        assert (sink.min, sink.max, sink.sum) == (value, value, value * batches * 3000)
        assert sink.clamped == (batches * 3000 if value > HDR_HIGHEST_US else 0)
    mixed = TrendSink()
    for value in [0] * 3000 + [-5] * 3000:  # below 0 counts as 0
        mixed.add_scaled(value)
    assert mixed.histogram().total_count == 6000 and (mixed.min, mixed.max) == (0, 0)
    assert record_many(new_histogram(), {7: 3, HDR_HIGHEST_US + 1: 2}) == 2
