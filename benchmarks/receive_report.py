"""The receive benchmark's rows, ratios, targets (issue 9) and their text and Markdown tables."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Row:
    receiver: str  # a ReceiverKind.key
    label: str
    dataset: str  # small|large|big|concurrent
    objects: int
    megabytes: float
    seconds: float | None = None  # None: the run did not happen (see note)
    peak_rss_mb: float | None = None
    rss_growth_mb: float | None = None  # peak minus the idle RSS before the send
    pipeline_s: float | None = None  # from the start of the send until no run is pending
    ui_stalls: int | None = None
    check: str = ""
    ok: bool = True
    vs_storescp: float | None = None  # storescp's seconds / ours: how many times faster
    vs_nodelay: float | None = None  # ours / the TCP_NODELAY pair's: how many times its time
    vs_one_sender: float | None = None  # concurrent: aggregate objects/s / one sender's
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def objects_per_s(self) -> float | None:
        return self.objects / self.seconds if self.seconds else None

    @property
    def mb_per_s(self) -> float | None:
        return self.megabytes / self.seconds if self.seconds else None

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "objects_per_s": self.objects_per_s, "mb_per_s": self.mb_per_s}


DATASET_NAMES = {
    "small": "small (64×64)",
    "large": "large (512×512)",
    "big": "multi-frame object",
    "concurrent": "small ×10 senders",
}


def merge_repeats(rows: Sequence[Row]) -> list[Row]:
    """One row per receiver and data set: a set sent several times (`--repeat`) is shown by
    its median run, with every run's seconds in its check; its ui-stall lines are those of
    all its runs, and it fails if any run failed."""
    groups: dict[tuple[str, str], list[Row]] = {}
    for row in rows:
        groups.setdefault((row.receiver, row.dataset), []).append(row)
    merged: list[Row] = []
    for runs in groups.values():
        if len(runs) == 1:
            merged.append(runs[0])
            continue
        timed = sorted((r for r in runs if r.seconds is not None), key=lambda r: r.seconds or 0.0)
        row = timed[(len(timed) - 1) // 2] if timed else runs[0]  # the lower median of an even count
        failed = [r for r in runs if not r.ok]
        stalls = [r.ui_stalls for r in runs if r.ui_stalls is not None]
        row.ui_stalls = sum(stalls) if stalls else None
        row.ok = not failed
        row.extra["runs_s"] = [r.seconds for r in runs]
        seconds = ", ".join(_num(r.seconds, 2) for r in runs)
        row.check = f"{(failed[0] if failed else row).check}; median of {len(runs)} runs: {seconds} s"
        merged.append(row)
    return merged


def add_ratios(rows: Sequence[Row]) -> None:
    """Ratios to DCMTK from the same run, per data set; concurrent rows against one sender."""
    def seconds(receiver: str, dataset: str) -> float | None:
        for row in rows:
            if row.receiver == receiver and row.dataset == dataset and row.seconds:
                return row.seconds
        return None

    for row in rows:
        if not row.seconds:
            continue
        if row.dataset == "concurrent":
            single = next((r for r in rows if r.receiver == row.receiver and r.dataset == "small"
                           and r.objects_per_s), None)
            if single is not None and row.objects_per_s and single.objects_per_s:
                row.vs_one_sender = row.objects_per_s / single.objects_per_s
            continue
        base, pair = seconds("storescp", row.dataset), seconds("nodelay", row.dataset)
        row.vs_storescp = base / row.seconds if base else None
        row.vs_nodelay = row.seconds / pair if pair else None


def _num(value: float | None, digits: int = 1, suffix: str = "") -> str:
    return "—" if value is None else f"{value:.{digits}f}{suffix}"


COLUMNS: list[tuple[str, Callable[[Row], str], bool]] = [  # header, cell, right-aligned
    ("receiver", lambda r: r.label, False),
    ("data set", lambda r: DATASET_NAMES.get(r.dataset, r.dataset), False),
    ("objects", lambda r: str(r.objects), True),
    ("MB", lambda r: _num(r.megabytes, 0), True),
    ("seconds", lambda r: _num(r.seconds, 2) if r.seconds is not None else "n/a", True),
    ("objects/s", lambda r: _num(r.objects_per_s, 0 if (r.objects_per_s or 0) >= 10 else 2), True),
    ("MB/s", lambda r: _num(r.mb_per_s, 1), True),
    ("× faster than storescp", lambda r: _num(r.vs_storescp, 1, "×"), True),
    ("× NODELAY pair's time", lambda r: _num(r.vs_nodelay, 2, "×"), True),
    ("peak RSS MB", lambda r: _num(r.peak_rss_mb, 0), True),
    ("RSS growth MB", lambda r: _num(r.rss_growth_mb, 0), True),
    ("pipeline done s", lambda r: _num(r.pipeline_s, 2), True),
    ("ui-stall lines", lambda r: "—" if r.ui_stalls is None else str(r.ui_stalls), True),
    ("check", lambda r: r.check, False),
]


def _cells(rows: Sequence[Row]) -> list[list[str]]:
    return [[cell(r) for _, cell, _ in COLUMNS] for r in rows]


def text_table(rows: Sequence[Row]) -> str:
    headers = [h for h, _, _ in COLUMNS]
    body = _cells(rows)
    widths = [max(len(h), *(len(b[i]) for b in body)) if body else len(h) for i, h in enumerate(headers)]

    def line(cells: Sequence[str]) -> str:
        parts = [c.rjust(w) if COLUMNS[i][2] else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths))]
        return "  ".join(parts).rstrip()

    out = [line(headers), "  ".join("-" * w for w in widths)]
    previous = None
    for row, cells in zip(rows, body):
        if previous is not None and row.dataset != previous:
            out.append("")
        previous = row.dataset
        out.append(line(cells))
    return "\n".join(out)


def markdown_table(rows: Sequence[Row]) -> str:
    headers = [h for h, _, _ in COLUMNS]
    align = ["---:" if right else "---" for _, _, right in COLUMNS]
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join(align) + "|"]
    for cells in _cells(rows):
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines)


@dataclass
class Target:
    text: str
    measured: str
    passed: bool | None  # None: not measured in this run


def evaluate_targets(rows: Sequence[Row], receiver: str) -> list[Target]:
    """Issue 9's targets for one receiver (the window run; headless when there is no window)."""
    def find(dataset: str) -> Row | None:
        return next((r for r in rows if r.receiver == receiver and r.dataset == dataset and r.seconds), None)

    targets: list[Target] = []
    for dataset, faster, at_most in (("small", 10.0, 3.0), ("large", 4.0, 2.5)):
        row = find(dataset)
        name = DATASET_NAMES[dataset]
        if row is None or row.vs_storescp is None:
            targets.append(Target(f"{name}: ≥ {faster:g}× faster than storescp", "not measured", None))
        else:
            targets.append(Target(f"{name}: ≥ {faster:g}× faster than storescp", _num(row.vs_storescp, 1, "×"),
                                  row.vs_storescp >= faster))
        if row is None or row.vs_nodelay is None:
            targets.append(Target(f"{name}: ≤ {at_most:g}× the NODELAY pair's time", "not measured", None))
        else:
            targets.append(Target(f"{name}: ≤ {at_most:g}× the NODELAY pair's time", _num(row.vs_nodelay, 2, "×"),
                                  row.vs_nodelay <= at_most))
    row = find("concurrent")
    if row is None:
        targets.append(Target("10 senders: every object stored once, aggregate ≥ one sender", "not measured", None))
    else:
        ratio = row.vs_one_sender
        targets.append(Target("10 senders: every object stored once, aggregate ≥ one sender",
                              f"{row.check}; aggregate {_num(ratio, 2, '×')} one sender",
                              row.ok and ratio is not None and ratio >= 1.0))
    row = find("big")
    if row is None or row.rss_growth_mb is None:
        targets.append(Target("multi-frame object: RSS growth < 200 MB, hash identical", "not measured", None))
    else:
        targets.append(Target("multi-frame object: RSS growth < 200 MB, hash identical",
                              f"{row.rss_growth_mb:.0f} MB, {row.check}",
                              row.rss_growth_mb < 200 and row.ok))
    stalls = [r.ui_stalls for r in rows if r.receiver == receiver and r.ui_stalls is not None]
    if not stalls:
        targets.append(Target("no ui-stall line during any run", "not measured (no window run)", None))
    else:
        targets.append(Target("no ui-stall line during any run", f"{sum(stalls)} line(s)", sum(stalls) == 0))
    return targets


def targets_text(targets: Sequence[Target], markdown: bool = False) -> str:
    def verdict(t: Target) -> str:
        return "n/a" if t.passed is None else ("PASS" if t.passed else "FAIL")

    if markdown:
        lines = ["| target | measured | |", "|---|---|---|"]
        lines += [f"| {t.text} | {t.measured} | {verdict(t)} |" for t in targets]
        return "\n".join(lines)
    width = max(len(t.text) for t in targets)
    return "\n".join(f"{verdict(t):4}  {t.text.ljust(width)}  {t.measured}" for t in targets)


def main_receiver(rows: Sequence[Row]) -> str:
    """The targets are the window's; without a window run, the headless app's."""
    return "window" if any(r.receiver == "window" and r.seconds for r in rows) else "headless"


def markdown_report(rows: Sequence[Row], command: str, machine: str) -> str:
    receiver = main_receiver(rows)
    targets = targets_text(evaluate_targets(rows, receiver), markdown=True)
    return (f"# Receive benchmark\n\n`{command}`: {machine}.\n\n{markdown_table(rows)}\n\n"
            f"Targets (issue 9), measured on the {receiver} run:\n\n{targets}\n")


def rows_from_json(data: dict[str, Any]) -> list[Row]:
    names = set(Row.__dataclass_fields__)
    return [Row(**{k: v for k, v in row.items() if k in names}) for row in data["rows"]]


def main(argv: Sequence[str] | None = None) -> int:
    """Render a saved run again: `python benchmarks/receive_report.py benchmarks/out/receive.json`."""
    import json
    import sys
    from pathlib import Path

    args = list(sys.argv[1:] if argv is None else argv)
    path = Path(args[0] if args else Path(__file__).resolve().parent / "out" / "receive.json")
    data = json.loads(path.read_text(encoding="utf-8"))
    rows = rows_from_json(data)
    print(text_table(rows))
    path.with_suffix(".md").write_text(markdown_report(rows, data["command"], data["machine"]), encoding="utf-8")
    print(f"written: {path.with_suffix('.md')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
