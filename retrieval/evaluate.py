"""``industry-qa eval``: answer accuracy, refusal precision/recall and citation validity on a
JSONL question file in the ``seed_qa.jsonl`` format. An answer is judged on how it reads to its user
(``word``: the bot's ``answer_text``) and on its excerpts."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .corpus import load_article
from .service import QAService
from .types import Answer


@dataclass
class EvalResult:
    rows: list[dict[str, Any]] = field(default_factory=list)

    def metrics(self) -> dict[str, Any]:
        n = len(self.rows)
        should = [r for r in self.rows if r["expect_refuse"]]
        did = [r for r in self.rows if r["refused"]]
        both = [r for r in should if r["refused"]]
        excerpts = sum(r["excerpts"] for r in self.rows)
        valid = sum(r["valid_excerpts"] for r in self.rows)
        answerable = [r for r in self.rows if not r["expect_refuse"]]
        return {
            "questions": n,
            "correct": sum(r["correct"] for r in self.rows),
            "accuracy": _ratio(sum(r["correct"] for r in self.rows), n),
            "answer_accuracy": _ratio(sum(r["correct"] for r in answerable), len(answerable)),
            "refusal_precision": _ratio(len(both), len(did)),
            "refusal_recall": _ratio(len(both), len(should)),
            "citation_validity": _ratio(valid, excerpts),
            "excerpts": excerpts,
        }


def _ratio(a: int, b: int) -> float | None:
    return round(a / b, 4) if b else None


def verbatim(corpus_dir: Path, citation: dict[str, Any]) -> bool:
    """The excerpt is exactly the article's text between start and end."""
    try:
        text = load_article(corpus_dir / citation["path"]).text
    except (OSError, ValueError):
        return False
    return bool(citation["excerpt"]) and text[citation["start"]:citation["end"]] == citation["excerpt"]


def judge(item: dict[str, Any], answer: Answer, text: str) -> bool:
    """``text``: the answer as its user reads it."""
    if item.get("refuse"):
        return answer.refused
    if answer.refused:
        return False
    haystack = (text + "\n" + "\n".join(c.excerpt for c in answer.citations)).lower()
    ok_all = all(s.lower() in haystack for s in item.get("expect_all", []))
    anys = item.get("expect_any", [])
    return ok_all and (not anys or any(s.lower() in haystack for s in anys))


def run_eval(service: QAService, path: Path, *, word: Callable[[Answer], str]) -> EvalResult:
    result = EvalResult()
    for line_no, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except ValueError as err:
            raise ValueError(f"{path}:{line_no}: not JSON ({err})") from None
        answer = service.ask(item["question"])
        text = word(answer)
        cits = answer.citation_dicts()
        result.rows.append({
            "id": item.get("id", str(line_no)),
            "question": item["question"],
            "expect_refuse": bool(item.get("refuse")),
            "refused": answer.refused,
            "correct": judge(item, answer, text),
            "excerpts": len(cits),
            "valid_excerpts": sum(verbatim(service.settings.corpus_dir, c) for c in cits),
            "answer": text,
        })
    return result
