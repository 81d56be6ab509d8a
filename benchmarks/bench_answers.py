"""Answers that answer: the Slack-style dev set per kind (train and test split), the design
card's questions on the shipped corpus, and the answer path's speed there (warm ``ask`` p50/p95,
cold ``industry-qa ask``).

    python -m benchmarks.bench_answers [--write]

``--write`` replaces the "Answers on Slack-style questions" section of
benchmarks/MEASURED_SEPARATELY.md (``python -m benchmarks.report --separate-only`` copies it into
BENCHMARKS.md). The dev set's verdicts are ``industry-qa eval``'s: right, wrong (an answer without
the fact, or an answer to an unanswerable question), refused (wrongly), closest (related excerpts,
counted as not answered).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from bot.texts import answer_text
from retrieval.evaluate import VERDICTS, run_eval
from retrieval.service import QAService

from . import devset
from .answers import ensure_shipped_index, shipped_settings
from .machine import machine_line
from .speed import shipped_corpus

SEPARATE = Path(__file__).resolve().parent / "MEASURED_SEPARATELY.md"
SECTION = "## Answers on Slack-style questions (issue 13)"
CARD = [  # the issue's own questions on the shipped corpus, and off-topic ones that must be refused
    ("who is first to list?", True), ("谁会成为大模型第一股？", True), ("Why does it matter who lists first?", True),
    ("Is Moonshot also heading for a Hong Kong listing?", True), ("月之暗面要上市吗?", True),
    ("When could MiniMax list in Hong Kong?", True), ("What is the weather in Paris tomorrow?", False),
    ("How do I cook carbonara?", False), ("今天北京天气怎么样？", False),
]
# cold asks: English; Chinese whose words jieba must cut; Chinese whose nouns jieba must also tag
COLD = ["who is first to list?", "月之暗面要上市吗?", "今天北京天气怎么样？"]
BARS = {"right": 0.80, "wrong": 0.05, "cross_language": 0.75}


def devset_rows() -> dict[str, dict[str, Any]]:
    svc = devset.service()
    out: dict[str, dict[str, Any]] = {}
    for split in ("train", "test"):
        result = run_eval(svc, devset.QUESTIONS, word=answer_text, split=split)
        for kind, m in [*result.by("kind").items(), ("all", result.metrics())]:
            out[f"{split}/{kind}"] = m
    return out


def card_rows() -> list[dict[str, Any]]:
    ensure_shipped_index()
    svc = QAService(shipped_settings())
    rows = []
    for q, answerable in CARD:
        ans = svc.ask(q)
        lead = ans.citations[0].excerpt if ans.citations else ""
        rows.append({"question": q, "expected": "answered" if answerable else "refused", "outcome": ans.outcome,
                     "lead": " ".join(lead.split())[:110]})
    return rows


def markdown(dev: dict[str, dict[str, Any]], card: list[dict[str, Any]], fast: dict[str, Any], load: str) -> str:
    lines = [SECTION, "", "`python -m benchmarks.bench_answers`: the dev set (`benchmarks/devset/`: 37 articles, "
             "fictional dated stories in English and Chinese, one of them the seed article; 190 short Slack-style questions, "
             "114 train / 76 test) answered by the product (`QAService.ask`, no language model), judged as "
             "`industry-qa eval` judges. The ranking weights and the gate were fitted on the train split only.", "",
             f"_{machine_line()}; load average {load}._", "",
             "| split / kind | questions | " + " | ".join(VERDICTS) + " |", "|---|---:|" + "---:|" * len(VERDICTS)]
    for key in sorted(dev, key=lambda k: (k.split("/")[0] != "test", k.endswith("/all") is False, k)):
        m = dev[key]
        label = f"**{key}**" if key.endswith("/all") else key
        lines.append(f"| {label} | {m['questions']} | " + " | ".join(str(m[v]) for v in VERDICTS) + " |")
    test = dev["test/all"]
    answerable = test["questions"] - dev.get("test/off_topic", {}).get("questions", 0) \
        - dev.get("test/near_topic_unanswerable", {}).get("questions", 0)
    cross = dev.get("test/cross_language", {"right": 0, "questions": 1})
    off = dev.get("test/off_topic", {"right": 0, "questions": 0})
    right_share, wrong_share = test["right"] / test["questions"], test["wrong"] / max(1, answerable)
    cross_share = cross["right"] / max(1, cross["questions"])
    lines += ["", "| bar (test split) | target | measured | met |", "|---|---|---:|---|",
              f"| right | ≥ 80% of all questions | {right_share:.0%} ({test['right']}/{test['questions']}) | "
              f"{'yes' if right_share >= BARS['right'] else 'no'} |",
              f"| wrong answers | ≤ 5% of answerable | {wrong_share:.1%} ({test['wrong']}/{answerable}) | "
              f"{'yes' if wrong_share <= BARS['wrong'] else 'no'} |",
              f"| cross-language right | ≥ 75% | {cross_share:.0%} ({cross['right']}/{cross['questions']}) | "
              f"{'yes' if cross_share >= BARS['cross_language'] else 'no'} |",
              f"| off-topic refused | all | {off['right']}/{off['questions']} | "
              f"{'yes' if off['right'] == off['questions'] else 'no'} |",
              "", "The design card's questions on the shipped corpus:", "",
              "| question | expected | outcome | lead excerpt |", "|---|---|---|---|"]
    lines += [f"| {r['question']} | {r['expected']} | {r['outcome']} | {r['lead'].replace('|', '/')} |" for r in card]
    warm, cold = fast["warm_ask_ms"], fast["cold_ask_s"]["runs"]
    lines += ["", f"Speed on the shipped corpus (the questions above, {warm['n']} warm asks): p50 {warm['p50']:.1f} ms, "
              f"**p95 {warm['p95']:.1f} ms** (target ≤ 100); cold `industry-qa ask` (a new process each) "
              + ", ".join(f"\"{q}\" {c:.2f} s" for q, c in zip(COLD, cold, strict=True)) + " (target ≤ 3 s)."]
    return "\n".join(lines)


def write_section(text: str, path: Path = SEPARATE) -> None:
    body = path.read_text("utf-8")
    if SECTION in body:
        start = body.index(SECTION)
        nxt = body.find("\n## ", start + len(SECTION))
        body = body[:start] + text + ("\n\n" + body[nxt + 1:] if nxt >= 0 else "\n")
    else:
        body = body.rstrip() + "\n\n" + text + "\n"
    path.write_text(body, "utf-8")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--write", action="store_true", help="update benchmarks/MEASURED_SEPARATELY.md")
    args = ap.parse_args(argv)
    before = os.getloadavg()[0]
    dev, card = devset_rows(), card_rows()
    fast = shipped_corpus(questions=[q for q, _ in CARD], cold_questions=COLD)
    text = markdown(dev, card, fast, f"{before:.1f} → {os.getloadavg()[0]:.1f}")
    print(text)
    if args.write:
        write_section(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
