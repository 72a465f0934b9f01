"""The descriptors dmsload's data generators reference, and so the ones `setup` seeds."""

from __future__ import annotations

from dataclasses import dataclass

ED_FI_NAMESPACE = "uri://ed-fi.org"


@dataclass(frozen=True)
class Descriptor:
    """One descriptor value: its resource endpoint, namespace and code value."""

    endpoint: str  # e.g. "gradeLevelDescriptors"
    resource_name: str  # e.g. "GradeLevelDescriptor"
    code_value: str

    @property
    def namespace(self) -> str:
        """`uri://ed-fi.org/GradeLevelDescriptor`."""
        return f"{ED_FI_NAMESPACE}/{self.resource_name}"

    @property
    def uri(self) -> str:
        """The reference value a document carries: `namespace#codeValue`."""
        return f"{self.namespace}#{self.code_value}"

    def uri_in(self, namespace: str) -> str:
        """The reference value under another namespace (`uri://state.org/...#...`)."""
        return f"{namespace}/{self.resource_name}#{self.code_value}"

    def document(self, namespace: str = ED_FI_NAMESPACE) -> dict[str, str]:
        """The POST body that creates this descriptor (under `namespace`)."""
        return {
            "namespace": f"{namespace}/{self.resource_name}",
            "codeValue": self.code_value,
            "shortDescription": self.code_value,
            "description": self.code_value,
        }


def _many(endpoint: str, resource_name: str, codes: tuple[str, ...]) -> tuple[Descriptor, ...]:
    return tuple(Descriptor(endpoint, resource_name, code) for code in codes)


GRADE_LEVELS = _many(
    "gradeLevelDescriptors",
    "GradeLevelDescriptor",
    ("Ninth grade", "Tenth grade", "Eleventh grade", "Twelfth grade"),
)
"""A generated school serves these four grade levels; students enter at one of them."""

SCHOOL_CATEGORIES = _many(
    "educationOrganizationCategoryDescriptors",
    "EducationOrganizationCategoryDescriptor",
    ("School",),
)

STAFF_CLASSIFICATIONS = _many(
    "staffClassificationDescriptors",
    "StaffClassificationDescriptor",
    ("Teacher", "Principal", "Counselor", "Instructional Aide"),
)

ALL_DESCRIPTORS: tuple[Descriptor, ...] = GRADE_LEVELS + SCHOOL_CATEGORIES + STAFF_CLASSIFICATIONS
"""Every descriptor a generated document references: what `dmsload setup` seeds."""
