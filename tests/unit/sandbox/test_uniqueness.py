"""Unit checks of arrayUniquenessConstraints compilation (contract §10)."""

from __future__ import annotations

import pytest

from dmsload.sandbox.uniqueness import _ordinal, compile_constraints, duplicate_errors


def test_multi_path_constraint_needs_every_path_equal() -> None:
    constraints = compile_constraints(
        [{"paths": ["$.addresses[*].type", "$.addresses[*].city"]}], "test"
    )
    body = {
        "addresses": [
            {"type": "Home", "city": "Austin"},
            {"type": "Home", "city": "Dallas"},
            {"type": "Home", "city": "Austin"},
        ]
    }
    assert duplicate_errors(constraints, body) == {
        "$.addresses": [
            "The 3rd item of the addresses has the same identifying values as another item "
            "earlier in the list."
        ]
    }


def test_nested_constraint_checks_each_parent_item() -> None:
    constraints = compile_constraints(
        [
            {
                "paths": ["$.parents[*].code"],
                "nestedConstraints": [
                    {"basePath": "$.parents[*]", "paths": ["$.parents[*].dates[*].date"]}
                ],
            }
        ],
        "test",
    )
    body = {
        "parents": [
            {"code": "a", "dates": [{"date": "1"}, {"date": "1"}]},
            {"code": "b", "dates": [{"date": "1"}]},
        ]
    }
    assert list(duplicate_errors(constraints, body)) == ["$.parents[0].dates"]


def test_path_outside_an_array_is_rejected() -> None:
    with pytest.raises(ValueError, match="does not go through an array"):
        compile_constraints([{"paths": ["$.schoolId"]}], "test")


@pytest.mark.parametrize(
    "number,text", [(2, "2nd"), (3, "3rd"), (4, "4th"), (12, "12th"), (22, "22nd"), (21, "21th")]
)
def test_ordinal_like_dms(number: int, text: str) -> None:
    assert _ordinal(number) == text
