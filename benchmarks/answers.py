"""Answer quality: the seed questions on the shipped corpus, and RGB / RealTime QA answers from the
refusal-calibration runs (an answer is right when a cited excerpt contains an alias of every answer
item; citation validity = share of excerpts that are verbatim spans of their source)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from bot.texts import answer_text
from retrieval.answer import RefusalModel, default_refusal_model
from retrieval.evaluate import run_eval
from retrieval.index import build_index
from retrieval.service import QAService
from retrieval.settings import RetrievalSettings

from . import common
from .datasets import DEFAULT_EVAL_DIR, load_realtimeqa, load_rgb

REPO = Path(__file__).resolve().parent.parent
SHIPPED_DATA = common.CACHE_DIR / "shipped"


def shipped_settings() -> RetrievalSettings:
    return RetrievalSettings(corpus_dir=REPO / "corpus", data_dir=SHIPPED_DATA, embedding_cache=common.CACHE_PATH)


def ensure_shipped_index() -> None:
    """The shipped corpus indexed as the product does (chunk + sentence vectors), in our own data dir."""
    build_index(shipped_settings(), embeddings=common.embedder())


def seed_eval(model: RefusalModel | None = None, eval_dir: Path = DEFAULT_EVAL_DIR) -> dict:
    ensure_shipped_index()
    svc = QAService(shipped_settings(), embeddings=common.embedder(), refusal_model=model or default_refusal_model())
    res = run_eval(svc, eval_dir / "seed_qa.jsonl", word=answer_text)
    feats = []
    for line in (eval_dir / "seed_qa.jsonl").read_text("utf-8").splitlines():
        if line.strip():
            item = json.loads(line)
            a = svc.ask(item["question"])
            feats.append({"id": item["id"], "refuse_expected": bool(item.get("refuse")), "refused": a.refused,
                          "p_answerable": round(svc.refusal_model.probability(a.scores), 4) if a.scores else None,
                          **{k: round(v, 4) for k, v in a.scores.items()}})
    return {"metrics": res.metrics(), "rows": [{k: r[k] for k in ("id", "correct", "refused", "expect_refuse")} for r in res.rows],
            "features": feats}


def _contains_alias(excerpts: list[str], answers: list[list[str]]) -> bool:
    text = "\n".join(excerpts).lower()
    return bool(answers) and all(any(a.lower() in text for a in item) for item in answers)


def answer_quality(rows: list[dict], model: RefusalModel, eval_dir: Path = DEFAULT_EVAL_DIR) -> dict:
    """From the calibration runs of the TEST questions: answerable ones against the full corpus."""
    answers = {("rgb_zh", q.qid): q.answers for q in load_rgb(eval_dir).queries}
    answers.update({("realtimeqa", q.qid): q.answers for q in load_realtimeqa(eval_dir).queries})
    out = {}
    for set_name in ("rgb_zh", "realtimeqa"):
        sel = [r for r in rows if r["set"] == set_name and r["part"] == "test" and r["kind"] == "answerable"]
        if not sel:
            continue
        answered = [r for r in sel if r.get("sentence") is not None and not r.get("no_hits")
                    and model.answerable({k: r[k] for k in ("sentence", "chunk", "coverage")})]
        right = [r for r in answered if _contains_alias(r["excerpts"], answers[(set_name, r["qid"])])]
        any_cited = [r for r in sel if _contains_alias(r["excerpts"], answers[(set_name, r["qid"])])]
        ex = sum(len(r["valid"]) for r in sel)
        out[set_name] = {
            "questions": len(sel), "answered": len(answered), "correct": len(right),
            "accuracy": len(right) / len(sel),
            "accuracy_if_never_refused": len(any_cited) / len(sel),
            "excerpts": ex, "citation_validity": (sum(sum(r["valid"]) for r in sel) / ex) if ex else float("nan"),
            "median_answer_ms": float(np.median([r["ms"] for r in sel])),
        }
    return out
