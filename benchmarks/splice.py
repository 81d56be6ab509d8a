"""Publish one part of BENCHMARKS.md without re-running the others: a part measured on its own
(the scripts of MEASURED_SEPARATELY.md, or the speed run alone) replaces its earlier copy and every
other section stays as it was, stamped with the run that produced it.

    python -m benchmarks.splice --separate   # MEASURED_SEPARATELY.md
    python -m benchmarks.splice --speed      # results/speed.json: its section and its goal rows
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .report import (
    GOALS_HEADING,
    OUT,
    SEPARATE,
    SET_TITLES,
    load_result,
    plots,
    separate_text,
    speed_goals,
    speed_section,
)

SPEED_HEADING = "## Speed and size"
KEPT_NOTE = "Not measured by the run above; kept from the earlier run:"


def splice_separate(out: Path = OUT, separate: Path = SEPARATE) -> None:
    """Put the current MEASURED_SEPARATELY.md into ``out`` in place of its earlier copy (from the first
    heading that file had up to the goals section)."""
    text = out.read_text("utf-8")
    first = next(line for line in separate_text(separate).splitlines() if line.startswith("## "))
    start, end = text.index(first + "\n"), text.index(GOALS_HEADING)
    out.write_text(text[:start] + separate_text(separate) + "\n\n" + text[end:], encoding="utf-8")


def splice_speed(sp: dict, out: Path = OUT) -> None:
    """Put the speed section rendered from ``sp`` in place of the earlier one (up to the next
    ``## `` heading) and its goal rows in place of the earlier speed rows; the quality goal rows,
    which start with a set's title, stay."""
    text = out.read_text("utf-8")
    start = text.index(SPEED_HEADING + "\n")
    end = text.index("\n## ", start + 1) + 1
    new = "\n".join(speed_section(sp)) + "\n"
    text = text[:start] + new + _not_remeasured(text[start:end], new) + text[end:]
    g = text.index(GOALS_HEADING)
    g_end = text.find("\n## ", g + 1)
    g_end = len(text) if g_end < 0 else g_end + 1
    lines = text[g:g_end].rstrip("\n").splitlines()
    titles = tuple(f"| {t} (" for t in SET_TITLES.values())
    head, rows = lines[:4], [x for x in lines[4:] if x.startswith(titles)]
    text = text[:g] + "\n".join([*head, *rows, *speed_goals(sp), "", ""]) + text[g_end:]
    out.write_text(text, encoding="utf-8")


def _not_remeasured(old: str, new: str) -> str:
    """The earlier section's ``### `` subsections that the new run did not measure, marked as such
    and stamped with the earlier run's machine line."""
    stamp = next((x for x in old.splitlines() if x.startswith("_Measured ")), "_Measured earlier._")
    parts = old.split("\n### ")[1:]
    kept = [p for p in parts if f"### {p.splitlines()[0]}\n" not in new]
    out = []
    for p in kept:
        head, body = p.split("\n", 1)
        if not body.lstrip("\n").startswith(KEPT_NOTE):  # kept once already: its own stamp stays
            body = f"\n{KEPT_NOTE} {stamp}\n" + body
        out.append(f"### {head}\n" + body.rstrip("\n") + "\n\n")
    return "".join(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--separate", action="store_true", help="MEASURED_SEPARATELY.md")
    ap.add_argument("--speed", action="store_true", help="the speed section and goals from results/speed.json")
    args = ap.parse_args(argv)
    if args.separate:
        splice_separate()
    if args.speed:
        sp = load_result("speed")
        if sp is None:
            raise SystemExit("no speed results: run python -m benchmarks.run --parts speed first")
        splice_speed(sp)
        plots(None, sp)
    return 0


if __name__ == "__main__":
    sys.exit(main())
