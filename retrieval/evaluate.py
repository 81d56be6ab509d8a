"""``industry-qa eval``: how answers fare on a JSONL question file (``seed_qa.jsonl`` format, plus
the dev set's optional ``kind``, ``split``, ``history`` and ``asked_on`` fields). An answer is
judged on how it reads to its user (``word``: the bot's ``answer_text``) and on its excerpts.

Every question ends in one verdict:

* ``right``: answered and the expected strings are in the answer or its excerpts; for a question
  the corpus cannot answer (``refuse: true``), refused or closest;
* ``wrong``: answered without the expected strings, or answered although it should not be;
* ``refused``: an answerable question refused (nothing relevant found);
* ``closest``: an answerable question given only "the closest the corpus comes" (not an answer).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from .corpus import load_article
from .service import QAService
from .types import Answer

VERDICTS = ("right", "wrong", "refused", "closest")


@dataclass
class EvalResult:
    rows: list[dict[str, Any]] = field(default_factory=list)

    def metrics(self, rows: Iterable[dict[str, Any]] | None = None) -> dict[str, Any]:
        rows = list(self.rows if rows is None else rows)
        n = len(rows)
        answerable = [r for r in rows if not r["expect_refuse"]]
        should = [r for r in rows if r["expect_refuse"]]
        count = {v: sum(r["verdict"] == v for r in rows) for v in VERDICTS}
        excerpts = sum(r["excerpts"] for r in rows)
        valid = sum(r["valid_excerpts"] for r in rows)
        return {
            "questions": n,
            **count,
            "accuracy": _ratio(count["right"], n),
            "answer_accuracy": _ratio(sum(r["verdict"] == "right" for r in answerable), len(answerable)),
            "wrong_of_answerable": _ratio(sum(r["verdict"] == "wrong" for r in answerable), len(answerable)),
            "unanswerable_kept_back": _ratio(sum(r["verdict"] == "right" for r in should), len(should)),
            "citation_validity": _ratio(valid, excerpts),
            "excerpts": excerpts,
        }

    def by(self, key: str) -> dict[str, dict[str, Any]]:
        """Metrics per value of a row field (``kind``, ``split``, ``lang``)."""
        values = sorted({str(r.get(key) or "-") for r in self.rows})
        return {v: self.metrics(r for r in self.rows if str(r.get(key) or "-") == v) for v in values}

    def correct(self) -> int:
        return sum(r["verdict"] == "right" for r in self.rows)


def _ratio(a: int, b: int) -> float | None:
    return round(a / b, 4) if b else None


def verbatim(corpus_dir: Path, citation: dict[str, Any]) -> bool:
    """The excerpt is exactly the article's text between start and end."""
    try:
        text = load_article(corpus_dir / citation["path"]).text
    except (OSError, ValueError):
        return False
    return bool(citation["excerpt"]) and text[citation["start"]:citation["end"]] == citation["excerpt"]


def found_expected(item: dict[str, Any], answer: Answer, text: str = "") -> bool:
    """The answer's ``text`` or its excerpts hold every ``expect_all`` and at least one ``expect_any``."""
    haystack = (text + "\n" + "\n".join(c.excerpt for c in answer.citations)).lower()
    ok_all = all(s.lower() in haystack for s in item.get("expect_all", []))
    anys = item.get("expect_any", [])
    return ok_all and (not anys or any(s.lower() in haystack for s in anys))


def verdict(item: dict[str, Any], answer: Answer, text: str = "") -> str:
    if item.get("refuse"):
        return "wrong" if answer.outcome == "answered" else "right"
    if answer.outcome == "refused":
        return "refused"
    if answer.outcome == "closest":
        return "closest"
    return "right" if found_expected(item, answer, text) else "wrong"


def judge(item: dict[str, Any], answer: Answer, text: str = "") -> bool:
    return verdict(item, answer, text) == "right"


def read_items(path: Path) -> list[dict[str, Any]]:
    items = []
    for line_no, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except ValueError as err:
            raise ValueError(f"{path}:{line_no}: not JSON ({err})") from None
        item.setdefault("id", str(line_no))
        items.append(item)
    return items


def run_eval(service: QAService, path: Path, *, word: Callable[[Answer], str], split: str | None = None) -> EvalResult:
    """Ask every question of ``path`` (only those of ``split`` when given) and judge the answers as
    ``word`` puts them."""
    result = EvalResult()
    for item in read_items(path):
        if split and item.get("split") != split:
            continue
        asked_on = date.fromisoformat(item["asked_on"]) if item.get("asked_on") else None
        answer = service.ask(item["question"], history=item.get("history", []), asked_on=asked_on)
        text = word(answer)
        cits = answer.citation_dicts()
        v = verdict(item, answer, text)
        result.rows.append({
            "id": item["id"],
            "question": item["question"],
            "kind": item.get("kind", ""),
            "split": item.get("split", ""),
            "lang": item.get("lang", ""),
            "expect_refuse": bool(item.get("refuse")),
            "outcome": answer.outcome,
            "refused": answer.refused,
            "verdict": v,
            "correct": v == "right",
            "excerpts": len(cits),
            "valid_excerpts": sum(verbatim(service.settings.corpus_dir, c) for c in cits),
            "answer": text,
        })
    return result
