"""Fixtures: a real sandbox on a free loopback port, httpx clients, a DMS token."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from dmsload.sandbox.auth import basic_header
from dmsload.sandbox.config import ADMIN_CLIENT_ID, ADMIN_CLIENT_SECRET
from dmsload.sandbox.testing import SandboxHandle, running_sandbox

GRADE = "uri://ed-fi.org/GradeLevelDescriptor#Ninth grade"
CATEGORY = "uri://ed-fi.org/EducationOrganizationCategoryDescriptor#School"
TEACHER = "uri://ed-fi.org/StaffClassificationDescriptor#Teacher"


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxHandle]:
    with running_sandbox(seed_descriptors=True) as handle:
        yield handle


@pytest.fixture
def client(sandbox: SandboxHandle) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sandbox.base_url, timeout=10) as c:
        yield c


def get_token(client: httpx.Client, key: str = "minimalKey", secret: str = "minimalSecret") -> str:
    r = client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": basic_header(key, secret)},
    )
    assert r.status_code == 200, r.text
    return str(r.json()["access_token"])


def cms_token(client: httpx.Client, path: str = "/connect/token", **form: str) -> httpx.Response:
    """The preseeded CMS admin client's token request, with form fields added."""
    return client.post(
        path,
        data={
            "client_id": ADMIN_CLIENT_ID,
            "client_secret": ADMIN_CLIENT_SECRET,
            "grant_type": "client_credentials",
            **form,
        },
    )


@pytest.fixture
def auth(client: httpx.Client) -> dict[str, str]:
    return {"Authorization": f"Bearer {get_token(client)}"}


def school(school_id: int = 255901, **extra: Any) -> dict[str, Any]:
    return {
        "schoolId": school_id,
        "nameOfInstitution": f"School {school_id}",
        "educationOrganizationCategories": [{"educationOrganizationCategoryDescriptor": CATEGORY}],
        "gradeLevels": [{"gradeLevelDescriptor": GRADE}],
        **extra,
    }


def student(unique_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "studentUniqueId": unique_id,
        "firstName": "Ada",
        "lastSurname": "Lovelace",
        "birthDate": "2010-12-10",
        **extra,
    }


def staff(unique_id: str) -> dict[str, Any]:
    return {"staffUniqueId": unique_id, "firstName": "Grace", "lastSurname": "Hopper"}


def ssa(unique_id: str, school_id: int = 255901, entry: str = "2024-08-20") -> dict[str, Any]:
    return {
        "studentReference": {"studentUniqueId": unique_id},
        "schoolReference": {"schoolId": school_id},
        "entryDate": entry,
        "entryGradeLevelDescriptor": GRADE,
    }


def assert_problem(r: httpx.Response, status: int, type_: str, title: str) -> dict[str, Any]:
    """Check the §6 problem-details envelope and return the body."""
    assert r.status_code == status, r.text
    body: dict[str, Any] = r.json()
    assert set(body) >= {
        "detail",
        "type",
        "title",
        "status",
        "correlationId",
        "validationErrors",
        "errors",
    }
    assert body["type"] == type_
    assert body["title"] == title
    assert body["status"] == status
    assert body["correlationId"]
    return body
