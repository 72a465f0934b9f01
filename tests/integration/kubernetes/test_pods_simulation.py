"""The Kubernetes run without a cluster: N local processes run the pod entrypoint with
JOB_COMPLETION_INDEX set and a shared temporary directory as the volume, against a sandbox;
then the merge entrypoint merges their parts, as the merge Job does."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from dmsload.sandbox.testing import SandboxHandle, running_sandbox

ROOT = Path(__file__).resolve().parents[3]
PART = ROOT / "config" / "kubernetes" / "dmsload-part.sh"
MERGE = ROOT / "config" / "kubernetes" / "dmsload-merge.sh"
PODS = 4
ITERATIONS = 120

PROFILE = f"""
name = "k8s-simulation"

[scenarios.create_students]
executor = "shared-iterations"
vus = 8
iterations = {ITERATIONS}
max_duration = "60s"
workload = "create"
options = {{ resource = "students" }}

[thresholds]
iterations = ["count=={ITERATIONS}"]
http_req_failed = ["rate<0.01"]
"""


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxHandle]:
    with running_sandbox(seed_descriptors=True) as handle:
        yield handle


def _environment(sandbox: SandboxHandle, volume: Path, profile: Path) -> dict[str, str]:
    """A pod's environment: the ConfigMap's and the Secret's variables, dmsload on PATH."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("DMSLOAD_")}
    return {
        **clean,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{clean.get('PATH', '')}",
        "DMSLOAD_PARTS": str(PODS),
        "DMSLOAD_RUN_NAME": "sim-1",
        "DMSLOAD_RESULTS": str(volume),
        "DMSLOAD_PROFILE": str(profile),
        "DMSLOAD_DMS_URL": sandbox.base_url,
        "DMSLOAD_CLIENT_KEY": sandbox.client_key,
        "DMSLOAD_CLIENT_SECRET": sandbox.client_secret,
        "DMSLOAD_START_LEAD": "30s",  # covers 4 interpreters starting on 2 busy cores
        "DMSLOAD_RENDEZVOUS_TIMEOUT": "90s",
        "DMSLOAD_MERGE_TIMEOUT_S": "150",
        "DMSLOAD_MERGE_POLL_S": "1",
    }


def test_four_pods_and_the_merge_job_add_up_to_the_profile(
    sandbox: SandboxHandle, tmp_path: Path
) -> None:
    volume = tmp_path / "volume"
    volume.mkdir()
    profile = tmp_path / "profile.toml"
    profile.write_text(PROFILE)
    env = _environment(sandbox, volume, profile)
    before = sandbox.state.store.count()
    merge = subprocess.Popen(  # the merge Job starts with the pods and waits for their parts
        ["sh", str(MERGE)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    pods = [
        subprocess.Popen(
            ["sh", str(PART), "--quiet"],
            env={**env, "JOB_COMPLETION_INDEX": str(index)},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for index in range(PODS)
    ]
    logs = [pod.communicate(timeout=180) for pod in pods]
    assert [pod.returncode for pod in pods] == [0] * PODS, logs
    out, err = merge.communicate(timeout=180)
    assert merge.returncode == 0, (out, err)

    run = volume / "sim-1"
    starts = set()
    for index in range(PODS):
        part = orjson.loads((run / f"part-{index}.summary.json").read_bytes())
        segment = part["manifest"]["execution_segment"]
        assert segment["segment"] == f"{index}/{PODS}:{index + 1}/{PODS}"
        assert segment["sequence"] == "0,1/4,2/4,3/4,1"
        assert part["metrics"]["iterations"]["values"]["count"] == ITERATIONS // PODS
        assert part["state"]["exit_code"] == 99  # count==120 fails on a part alone
        assert part["manifest"]["run_id"] == hashlib.sha256(b"sim-1").hexdigest()[:8]
        (line,) = [x for x in logs[index][1].splitlines() if x.startswith("dmsload-part:")]
        assert line.startswith(f"dmsload-part: part {index} of 4, segment {segment['segment']}")
        starts.add(line.rsplit(" starts at ", 1)[1])
    assert len(starts) == 1  # every pod began its schedule at the one agreed instant
    merged = orjson.loads((run / "merged.summary.json").read_bytes())
    assert merged["metrics"]["iterations"]["values"]["count"] == ITERATIONS
    assert [t["ok"] for t in merged["thresholds"]] == [True, True]
    assert merged["state"]["exit_code"] == 0
    assert [p["index"] for p in merged["manifest"]["parts"]] == [0, 1, 2, 3]
    assert (run / "junit.xml").is_file() and (run / "k6-summary.json").is_file()
    assert "merged 4 part(s)" in out
    assert sandbox.state.store.count() - before == ITERATIONS  # unique identities across pods
    assert sandbox.client_secret not in out + err + "".join(o + e for o, e in logs)


def test_a_pod_that_fails_makes_the_merge_job_exit_1_naming_the_missing_part(
    sandbox: SandboxHandle, tmp_path: Path
) -> None:
    volume = tmp_path / "volume"
    profile = tmp_path / "profile.toml"
    profile.write_text(PROFILE)
    env = {**_environment(sandbox, volume, profile), "DMSLOAD_PARTS": "2"}
    pods = [
        subprocess.Popen(
            ["sh", str(PART), "--quiet"],
            env={
                **env,
                "JOB_COMPLETION_INDEX": str(index),
                # pod 1 meets pod 0, then cannot run: its profile is missing (exit 2)
                "DMSLOAD_PROFILE": str(profile if index == 0 else tmp_path / "missing.toml"),
            },
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for index in range(2)
    ]
    logs = [pod.communicate(timeout=180) for pod in pods]
    assert [pod.returncode for pod in pods] == [0, 2], logs
    assert (volume / "sim-1" / "part-1.failed").read_text().strip() == "2"
    merge = subprocess.run(["sh", str(MERGE)], env=env, capture_output=True, text=True, timeout=60)
    assert merge.returncode == 1, merge.stderr
    assert merge.stderr.splitlines()[-1] == "dmsload: part 1 (segment 1/2:1) is missing"
    merged = orjson.loads((volume / "sim-1" / "merged.summary.json").read_bytes())
    assert merged["metrics"]["iterations"]["values"]["count"] == ITERATIONS // 2
    again = subprocess.run(["sh", str(MERGE)], env=env, capture_output=True, text=True, timeout=60)
    assert again.returncode == 2
    assert again.stderr.strip().endswith("already holds a merged run: set a new DMSLOAD_RUN_NAME")
