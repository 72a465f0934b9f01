"""`one_descriptor_per_type`: several values of one descriptor type in a document."""

from __future__ import annotations

from dmsload.sandbox.descriptor_limit import repeated_descriptor
from dmsload.sandbox.schema import default_schema_path, load_api_schema

GRADE = "uri://ed-fi.org/GradeLevelDescriptor#"


def test_several_grade_levels_are_found_one_is_not() -> None:
    schools = load_api_schema(default_schema_path()).find("schools")
    assert schools is not None
    one = {"gradeLevels": [{"gradeLevelDescriptor": GRADE + "Ninth grade"}]}
    assert repeated_descriptor(schools, one) is None
    same_twice = {"gradeLevels": [{"gradeLevelDescriptor": GRADE + "Ninth grade"}] * 2}
    assert repeated_descriptor(schools, same_twice) is None
    two = {
        "gradeLevels": [
            {"gradeLevelDescriptor": GRADE + "Ninth grade"},
            {"gradeLevelDescriptor": GRADE + "Tenth grade"},
        ]
    }
    assert repeated_descriptor(schools, two) == ("GradeLevelDescriptor", 2)
