"""`dmsload report`: one self-contained HTML page of a run's summary JSON or a suite's results.

`html` renders the page (uPlot charts inlined from `assets/`), `recommendations` turns a
summary's figures into advice, and `command` is the CLI command that reads, renders and writes.
"""

from dmsload.report.html import SuiteProfile, SuiteResults, render_suite_html, render_summary_html
from dmsload.report.recommendations import NO_PROBLEMS, recommendations

__all__ = [
    "NO_PROBLEMS",
    "SuiteProfile",
    "SuiteResults",
    "recommendations",
    "render_suite_html",
    "render_summary_html",
]
