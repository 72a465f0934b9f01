"""`dmsload rendezvous`: the agreement rule on a fake clock, and four real processes meeting."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime
from pathlib import Path

import orjson
import pytest

from dmsload.rendezvous import RendezvousError, meet, rfc3339


class FakeClock:
    """Wall-clock time that advances only when a party sleeps; `on_sleep` lets others arrive."""

    def __init__(self, now: float) -> None:
        self.now = now
        self.on_sleep: list[tuple[float, Path, dict[str, object]]] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds
        due = [item for item in self.on_sleep if item[0] <= self.now]
        for item in due:
            item[1].write_bytes(orjson.dumps(item[2]))
            self.on_sleep.remove(item)


def _announcement(index: int, at: float, parties: int = 3) -> dict[str, object]:
    return {"index": index, "parties": parties, "announced_at": at, "host": f"pod-{index}"}


def test_every_party_computes_the_latest_announcement_plus_the_lead(tmp_path: Path) -> None:
    clock = FakeClock(1000.0)
    (tmp_path / "party-0.json").write_bytes(orjson.dumps(_announcement(0, 995.5)))
    clock.on_sleep.append((1003.0, tmp_path / "party-2.json", _announcement(2, 1002.9)))
    start = meet(
        tmp_path, parties=3, index=1, timeout_s=60, lead_s=10, clock=clock, sleep=clock.sleep
    )
    assert start == pytest.approx(1012.9)
    mine = orjson.loads((tmp_path / "party-1.json").read_bytes())
    assert (mine["index"], mine["parties"], mine["announced_at"]) == (1, 3, 1000.0)
    # the others, reading the same three files, agree on the same instant
    for index, at in ((0, 995.5), (2, 1002.9)):
        got = meet(
            tmp_path,
            parties=3,
            index=index,
            timeout_s=60,
            lead_s=10,
            clock=lambda at=at: at,
            sleep=clock.sleep,
        )
        assert got == start


def test_an_announcement_from_an_earlier_run_counts_as_absent(tmp_path: Path) -> None:
    clock = FakeClock(5000.0)
    (tmp_path / "party-0.json").write_bytes(orjson.dumps(_announcement(0, 100.0, parties=2)))
    clock.on_sleep.append((5002.0, tmp_path / "party-0.json", _announcement(0, 5001.9, 2)))
    start = meet(
        tmp_path, parties=2, index=1, timeout_s=60, lead_s=5, clock=clock, sleep=clock.sleep
    )
    assert start == pytest.approx(5006.9)


def test_a_party_that_never_comes_fails_after_the_timeout_naming_it(tmp_path: Path) -> None:
    clock = FakeClock(0.0)
    with pytest.raises(RendezvousError) as caught:
        meet(tmp_path, parties=3, index=0, timeout_s=2, lead_s=1, clock=clock, sleep=clock.sleep)
    assert str(caught.value) == f"{tmp_path}: parties 1, 2 did not announce within 2 s"
    assert not caught.value.usage
    assert clock.now == pytest.approx(2.0)


def test_a_party_expecting_another_count_is_a_usage_error(tmp_path: Path) -> None:
    clock = FakeClock(10.0)
    (tmp_path / "party-0.json").write_bytes(orjson.dumps(_announcement(0, 9.0, parties=4)))
    with pytest.raises(RendezvousError) as caught:
        meet(tmp_path, parties=2, index=1, timeout_s=60, lead_s=1, clock=clock, sleep=clock.sleep)
    assert caught.value.usage
    assert "party-0.json: parties 4, index 0: this party expects 2 parties, index 0" in str(
        caught.value
    )


def test_a_start_already_past_on_this_clock_is_refused(tmp_path: Path) -> None:
    (tmp_path / "party-0.json").write_bytes(orjson.dumps(_announcement(0, 100.0, parties=2)))
    times = iter([100.5, 120.0])  # announce; then this host finds itself far past the start

    with pytest.raises(RendezvousError, match=r"passed 9\.5 s ago on this host's clock"):
        meet(
            tmp_path,
            parties=2,
            index=1,
            timeout_s=60,
            lead_s=10,
            clock=lambda: next(times),
            sleep=lambda s: None,
        )


def test_bad_index_or_parties_are_usage_errors(tmp_path: Path) -> None:
    for parties, index, message in ((0, 0, "--parties: must be at least 1"), (2, 2, "--index")):
        with pytest.raises(RendezvousError, match=message) as caught:
            meet(tmp_path, parties=parties, index=index, timeout_s=1, lead_s=1)
        assert caught.value.usage


def test_rfc3339_is_utc_to_the_millisecond() -> None:
    assert rfc3339(1764619205.25) == "2025-12-01T20:00:05.250Z"


def test_four_processes_print_one_and_the_same_start(tmp_path: Path) -> None:
    shared = tmp_path / "rendezvous"
    processes = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "dmsload",
                "rendezvous",
                str(shared),
                "--parties",
                "4",
                "--index",
                str(index),
                "--timeout",
                "60s",
                "--lead",
                "2s",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for index in range(4)
    ]
    outputs = [process.communicate(timeout=90) for process in processes]
    assert [process.returncode for process in processes] == [0] * 4, outputs
    starts = {stdout.strip() for stdout, _ in outputs}
    assert len(starts) == 1
    announced = [
        orjson.loads((shared / f"party-{i}.json").read_bytes())["announced_at"] for i in range(4)
    ]
    start = datetime.fromisoformat(starts.pop()).timestamp()
    assert start == pytest.approx(max(announced) + 2, abs=0.002)


def test_the_command_exits_1_when_a_party_is_missing_and_2_on_bad_usage(tmp_path: Path) -> None:
    late = subprocess.run(
        [
            sys.executable,
            "-m",
            "dmsload",
            "rendezvous",
            str(tmp_path),
            "--parties",
            "2",
            "--index",
            "0",
            "--timeout",
            "1s",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert late.returncode == 1
    assert late.stderr.splitlines()[-1] == (
        f"dmsload: {tmp_path}: parties 1 did not announce within 1 s"
    )
    assert late.stdout == ""
    bad = subprocess.run(
        [
            sys.executable,
            "-m",
            "dmsload",
            "rendezvous",
            str(tmp_path),
            "--parties",
            "2",
            "--index",
            "0",
            "--lead",
            "soon",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 2
    assert len(bad.stderr.splitlines()) == 1
    assert bad.stderr.startswith("dmsload: --lead: ")
