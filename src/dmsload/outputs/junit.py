"""`--junit FILE`: JUnit XML with one test case per threshold and per check, so that CI
systems list what failed. A threshold whose metric saw no samples is `skipped`."""

from __future__ import annotations

import socket
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

from dmsload.jsonfiles import write_bytes_atomically


def _format_observed(value: float | None) -> str:
    return "no data" if value is None else f"{value:.6g}"


def junit_document(
    *,
    suite_name: str,
    thresholds: Sequence[Mapping[str, Any]],
    checks: Sequence[Mapping[str, Any]],
    elapsed_s: float,
    started_at: float,
) -> ET.Element:
    """The XML tree: a `thresholds` and a `checks` test suite inside `testsuites`."""
    timestamp = datetime.fromtimestamp(started_at, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    root = ET.Element("testsuites", name=suite_name)
    suites = [
        _thresholds_suite(suite_name, thresholds, elapsed_s, timestamp),
        _checks_suite(suite_name, checks, elapsed_s, timestamp),
    ]
    for attribute in ("tests", "failures", "errors", "skipped"):
        root.set(attribute, str(sum(int(suite.get(attribute, "0")) for suite in suites)))
    root.set("time", f"{elapsed_s:.3f}")
    root.extend(suites)
    return root


def _suite(name: str, elapsed_s: float, timestamp: str) -> ET.Element:
    return ET.Element(
        "testsuite",
        name=name,
        timestamp=timestamp,
        hostname=socket.gethostname(),
        time=f"{elapsed_s:.3f}",
    )


def _count(suite: ET.Element, tests: int, failures: int, skipped: int) -> None:
    suite.set("tests", str(tests))
    suite.set("failures", str(failures))
    suite.set("errors", "0")
    suite.set("skipped", str(skipped))


def _thresholds_suite(
    prefix: str, thresholds: Sequence[Mapping[str, Any]], elapsed_s: float, timestamp: str
) -> ET.Element:
    suite = _suite(f"{prefix}.thresholds", elapsed_s, timestamp)
    failures = skipped = 0
    for item in thresholds:
        case = ET.SubElement(
            suite,
            "testcase",
            classname=f"{prefix}.thresholds.{item['metric']}",
            name=str(item["expression"]),
            time="0",
        )
        observed = _format_observed(item.get("observed"))
        if item.get("ok") is None:
            skipped += 1
            ET.SubElement(case, "skipped", message=f"{item['metric']}: no samples")
        elif item["ok"] is False:
            failures += 1
            failure = ET.SubElement(
                case,
                "failure",
                message=f"{item['metric']} '{item['expression']}' failed: observed {observed}",
                type="threshold",
            )
            failure.text = f"{item['metric']} {item['expression']}: observed {observed}"
    _count(suite, len(thresholds), failures, skipped)
    return suite


def _checks_suite(
    prefix: str, checks: Sequence[Mapping[str, Any]], elapsed_s: float, timestamp: str
) -> ET.Element:
    suite = _suite(f"{prefix}.checks", elapsed_s, timestamp)
    failures = 0
    for item in checks:
        case = ET.SubElement(
            suite, "testcase", classname=f"{prefix}.checks", name=str(item["name"]), time="0"
        )
        fails = int(item["fails"])
        if fails:
            failures += 1
            total = fails + int(item["passes"])
            failure = ET.SubElement(
                case, "failure", message=f"{fails} of {total} failed", type="check"
            )
            failure.text = f"check '{item['name']}': {item['passes']} passed, {fails} failed"
    _count(suite, len(checks), failures, 0)
    return suite


def write_junit(path: Path, root: ET.Element) -> None:
    """Write the XML atomically (UTF-8, with a declaration)."""
    ET.indent(root)
    write_bytes_atomically(path, ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n")
