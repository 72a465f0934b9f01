"""The DMS resources dmsload's workloads write and read, in dependency order."""

from __future__ import annotations

PROJECT_NAMESPACE = "ed-fi"

SCHOOLS = "schools"
STUDENTS = "students"
STAFFS = "staffs"
STUDENT_SCHOOL_ASSOCIATIONS = "studentSchoolAssociations"
STAFF_ASSIGNMENTS = "staffEducationOrganizationAssignmentAssociations"

DATA_RESOURCES: tuple[str, ...] = (
    SCHOOLS,
    STUDENTS,
    STAFFS,
    STUDENT_SCHOOL_ASSOCIATIONS,
    STAFF_ASSIGNMENTS,
)
"""The five resources of the strategy's performance schema, parents first."""

DESCRIPTOR_RESOURCES: tuple[str, ...] = (
    "gradeLevelDescriptors",
    "educationOrganizationCategoryDescriptors",
    "staffClassificationDescriptors",
)

REQUIRED_RESOURCES: tuple[str, ...] = DATA_RESOURCES + DESCRIPTOR_RESOURCES
"""What `setup` verifies the target serves (as `/ed-fi/<endpoint>` in `/metadata/dependencies`)."""


def resource_path(endpoint: str) -> str:
    """`/ed-fi/students`: the path under the data API, as the dependencies list names it
    (`tpdm/candidates` names its project)."""
    return f"/{endpoint}" if "/" in endpoint else f"/{PROJECT_NAMESPACE}/{endpoint}"
