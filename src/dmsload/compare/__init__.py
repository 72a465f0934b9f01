"""`dmsload compare BASELINE CURRENT`: two runs side by side, with a regression gate.

It reads two `--summary-json` files (or two `dmsload suite --results-dir` directories, paired
by profile name) and shows, per metric and per request name, the stats k6 users watch:
avg/med/p(95)/p(99) of the trends, the `http_req_failed` rate, throughput (`http_reqs` per
second of the run), the `checks` rate and `dropped_iterations`, each as baseline → current with
the change in the stat's unit and in percent; plus the thresholds whose verdict changed.

`--fail-on RULE` (repeatable) turns it into a gate: `p(95)>+10%` fails when http_req_duration's
p(95) grew by more than 10%; exit 99 (k6's threshold code) on any broken rule, 0 otherwise, 2 on
bad usage or input. rules.py documents the grammar, table.py which series a row aggregates
(sub-metrics leave out the pre-load setup requests), render.py the terminal table, Markdown
(`--markdown`, for PR comments and $GITHUB_STEP_SUMMARY) and JSON (`--json`) views, and
command.py the Typer command (`dmsload.compare.command.compare`).
"""

from dmsload.compare.rules import Rule, RuleError, parse_rule
from dmsload.compare.table import Comparison, Report, compare_summaries

__all__ = [
    "Comparison",
    "Report",
    "Rule",
    "RuleError",
    "compare",
    "compare_summaries",
    "parse_rule",
]
