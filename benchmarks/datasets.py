"""Loaders for the public eval sets, turned into in-memory ``Article`` lists plus queries.

RGB zh_refine: every positive/negative passage of the 300 queries pooled (7,337 unique passages),
each passage one document; a query's relevant documents are its own ``positive`` passages.

RealTime QA 2022: the 206 questions that have a non-empty gold article; corpus = the gold
articles plus, as distractors, the first 300 words of every search-result page, de-duplicated by
URL (a gold URL is kept once, as the gold article, titled with its search-result title if any).
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from retrieval.corpus import Article
from retrieval.index import publication_day
from retrieval.text import detect_language

DEFAULT_EVAL_DIR = Path(__file__).resolve().parent.parent.parent / "shared" / "eval"


@dataclass
class Query:
    qid: str
    text: str
    relevant: set[str]  # article paths
    answers: list[list[str]] = field(default_factory=list)  # each item: list of aliases
    group: str = ""  # split key: RGB id, RealTime QA week
    asked_on: date | None = None  # when the question was asked (RealTime QA's question_date)


@dataclass
class EvalSet:
    name: str
    language: str
    articles: list[Article]
    queries: list[Query]


def _pid(prefix: str, text: str) -> str:
    return f"{prefix}/{hashlib.sha1(text.encode('utf-8')).hexdigest()[:16]}"


def load_rgb(eval_dir: Path = DEFAULT_EVAL_DIR) -> EvalSet:
    rows = [json.loads(line) for line in (eval_dir / "rgb" / "zh_refine.json").read_text("utf-8").splitlines() if line.strip()]
    texts: dict[str, str] = {}
    queries: list[Query] = []
    for r in rows:
        rel = set()
        for kind in ("positive", "negative"):
            for p in r[kind]:
                p = p.strip()
                if not p:
                    continue
                pid = _pid("rgb", p)
                texts.setdefault(pid, p)
                if kind == "positive":
                    rel.add(pid)
        answers = [a if isinstance(a, list) else [a] for a in r["answer"]]
        queries.append(Query(str(r["id"]), r["query"], rel, [[str(x) for x in a] for a in answers], group=str(r["id"])))
    arts = [Article(path=pid, title="", outlet="RGB", published="", language="zh", url="", text=t)
            for pid, t in sorted(texts.items())]
    return EvalSet("rgb_zh", "zh", arts, queries)


def _day(text: str) -> date | None:
    day = publication_day(text)  # the product's own date reading
    return None if math.isnan(day) else date.fromordinal(int(day))


_WORD = re.compile(r"\S+")


def first_words(text: str, n: int = 300) -> str:
    """The text up to the end of its n-th whitespace-separated word (original spacing kept)."""
    end = None
    for i, m in enumerate(_WORD.finditer(text)):
        if i == n - 1:
            end = m.end()
            break
    return text if end is None else text[:end]


def load_realtimeqa(eval_dir: Path = DEFAULT_EVAL_DIR, *, distractors: bool = True) -> EvalSet:
    root = eval_dir / "realtimeqa"
    titles: dict[str, str] = {}
    pages: dict[str, dict] = {}
    for f in sorted(root.glob("*_gcs.jsonl")):
        for line in f.read_text("utf-8").splitlines():
            if not line.strip():
                continue
            for r in json.loads(line).get("search_result", []):
                url = r.get("url", "")
                if url and url not in pages:
                    pages[url] = r
                    titles[url] = (r.get("title") or "").strip()
    gold: dict[str, dict] = {}
    queries: list[Query] = []
    for f in sorted(root.glob("*_qa.jsonl")):
        week = f.name.split("_")[0]
        gold_rows = {}
        gf = root / f"{week}_gold.jsonl"
        if gf.exists():
            for line in gf.read_text("utf-8").splitlines():
                if line.strip():
                    g = json.loads(line)
                    gold_rows[g["question_id"]] = g
        for line in f.read_text("utf-8").splitlines():
            if not line.strip():
                continue
            q = json.loads(line)
            g = gold_rows.get(q["question_id"])
            results = [r for r in (g or {}).get("search_result", []) if (r.get("text") or "").strip() and r.get("url")]
            if not results:
                continue
            rel = set()
            for r in results:
                gold.setdefault(r["url"], r)
                rel.add("rtqa/" + r["url"])
            ans = q["choices"][int(q["answer"][0])] if q.get("answer") else ""
            queries.append(Query(q["question_id"], q["question_sentence"], rel, [[ans]] if ans else [], group=week,
                                 asked_on=_day(q.get("question_date", ""))))
    arts: list[Article] = []
    for url, r in sorted(gold.items()):
        text = r["text"].strip()
        arts.append(Article(path="rtqa/" + url, title=titles.get(url, ""), outlet="", published=r.get("publish_date") or "",
                            language=detect_language(text), url=url, text=text))
    if distractors:
        for url, r in sorted(pages.items()):
            if url in gold:
                continue
            text = first_words((r.get("text") or "").strip(), 300)
            if not text:
                continue
            arts.append(Article(path="rtqa/" + url, title=titles.get(url, ""), outlet="", published=r.get("publish_date") or "",
                                language=detect_language(text), url=url, text=text))
    return EvalSet("realtimeqa" + ("" if distractors else "_gold"), "en", arts, queries)
