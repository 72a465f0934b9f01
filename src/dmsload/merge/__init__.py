"""`dmsload merge`: the parts of a split run (execution segments) combined into one run."""

from dmsload.merge.combine import MergedRun, merge_parts, merged_document
from dmsload.merge.parts import Coverage, Part, PartsError, check_parts, read_part

__all__ = [
    "Coverage",
    "MergedRun",
    "Part",
    "PartsError",
    "check_parts",
    "merge_parts",
    "merged_document",
    "read_part",
]
