"""The receive benchmark's report (benchmarks/receive_report.py): repeated runs of a set."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

from receive_report import Row, add_ratios, merge_repeats  # noqa: E402


def _row(receiver: str, seconds: float | None, *, ok: bool = True, stalls: int | None = None,
         check: str = "200 files") -> Row:
    return Row(receiver, receiver, "large", 200, 106.0, seconds=seconds, ok=ok, ui_stalls=stalls, check=check)


def test_a_repeated_set_is_shown_by_its_median_run_with_every_runs_seconds() -> None:
    rows = merge_repeats([_row("nodelay", 0.5), _row("window", 1.4, stalls=0),
                          _row("nodelay", 0.4), _row("window", 1.0, stalls=0),
                          _row("nodelay", 0.6), _row("window", 1.2, stalls=0)])
    assert [(r.receiver, r.seconds) for r in rows] == [("nodelay", 0.5), ("window", 1.2)]
    assert rows[1].extra["runs_s"] == [1.4, 1.0, 1.2]
    assert rows[1].check == "200 files; median of 3 runs: 1.40, 1.00, 1.20 s"
    add_ratios(rows)
    assert rows[1].vs_nodelay == 1.2 / 0.5  # medians against medians


def test_a_repeated_set_keeps_every_runs_ui_stalls_and_failures() -> None:
    [row] = merge_repeats([_row("window", 1.0, stalls=0), _row("window", 1.1, stalls=2, ok=False, check="199 of 200"),
                           _row("window", 1.2, stalls=1)])
    assert row.ui_stalls == 3
    assert not row.ok
    assert row.check.startswith("199 of 200; median of 3 runs")


def test_a_set_sent_once_is_left_as_it_was() -> None:
    once = _row("window", 1.0, stalls=0)
    assert merge_repeats([once]) == [once]
    assert "runs_s" not in once.extra
