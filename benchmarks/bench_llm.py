"""Added latency of the language-model path over the extractive one, excluding the model's own time.

Builds an index of the shipped corpus in a temporary data dir, then asks the same questions of two
``QAService``s side by side (alternating which goes first): extractive, and with a language model —
the real langchain-openai client, streaming as the Slack bot does, against the loopback fake
OpenAI server from the tests (``tests/llm_fake.py``) answering instantly with a valid cited answer.
Each ask is followed by rendering the Slack message (``bot.render.answer_message`` + serialising
the blocks), as the bot does.

Per question, with ``model`` = ``Answer.timings_ms["llm_ms"]`` (the client's request to the model
and reading the whole stream, including the partial-answer callbacks):

- ``extractive`` = extractive ask + render
- ``llm`` = llm ask + render; ``llm - model`` = the same minus ``model``
- ``added`` = ``(llm - model) - extractive``, paired per question (noise from retrieval runs
  in both, so single pairs can be negative)
- ``added w/o embedding`` = the same with each side's query-embedding time (``embed_ms``, the
  same work on both sides and by far the largest, noisiest step) taken out as well
- ``added in-service`` = the part of ``ask`` outside the timed steps (embed, search, extractive
  answer, model): prompt build, token counts, validation, renumbering, minus the same residual of
  the extractive ask; plus the rendering difference. Less noisy: it excludes the shared retrieval.

Only questions answered (not refused) by both services are counted: a refusal never calls the model.

    python -m benchmarks.bench_llm [-n 60] [--corpus corpus]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from benchmarks.machine import machine_line
from benchmarks.metrics import percentile
from bot.render import answer_message
from bot.texts import fallback_note
from retrieval.index import build_index
from retrieval.service import QAService
from retrieval.settings import LLMSettings, RetrievalSettings
from retrieval.types import Answer
from tests.llm_fake import FakeOpenAI, Reply

ROOT = Path(__file__).resolve().parent.parent
QUESTIONS = [
    "Who is first to list in Hong Kong?",
    "When could MiniMax list?",
    "Which companies are preparing IPOs in Hong Kong?",
    "How much does MiniMax aim to raise?",
    "What is the race for the first large model IPO about?",
    "How much did enterprise token usage grow?",
    "What will successful IPOs set for the sector?",
    "Why does capital market attention matter to AI companies?",
    "Is Zhipu AI planning a Hong Kong IPO?",
    "大模型第一股之争是什么？",
    "MiniMax 什么时候上市？",
    "What are the industry trends in large model demand?",
]
MODEL_REPLY = "According to the excerpts, MiniMax and Zhipu AI are racing to list in Hong Kong [1]."
PACKAGES = ("langchain-openai", "langchain-core", "openai", "tiktoken", "slack_sdk")  # versions under the table
TIMED_STEPS = ("rewrite_ms", "embed_ms", "search_ms", "answer_ms", "llm_ms")


def timed(service: QAService, question: str, on_partial: Callable[[str], None] | None) -> tuple[Answer, float, float]:
    """(answer, ask+render ms, render ms)."""
    t0 = time.perf_counter()
    ans = service.ask(question, on_partial=on_partial)
    t1 = time.perf_counter()
    note = fallback_note(ans)
    answer_message(ans, question_id=1, notes=[note] if note else []).to_kwargs()
    t2 = time.perf_counter()
    return ans, (t2 - t0) * 1000, (t2 - t1) * 1000


def residual(ans: Answer) -> float:
    """ms of ``ask`` outside the timed steps."""
    t = ans.timings_ms
    return t["total_ms"] - sum(t.get(k, 0.0) for k in TIMED_STEPS)


def run(corpus: Path, n: int, warmup: int) -> str:
    fake = FakeOpenAI()
    fake.default = Reply(MODEL_REPLY)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            settings = RetrievalSettings(corpus_dir=corpus, data_dir=Path(tmp) / "data")
            build_index(settings)
            extractive = QAService(settings)
            llm = LLMSettings(provider="openai", model="fake", base_url=fake.url, api_key="bench", timeout_s=30)
            with_llm = QAService(replace(settings, llm=llm), embeddings=extractive.embeddings)
            rows: dict[str, list[float]] = {k: [] for k in ("ext", "llm", "model", "llm_net", "added", "added_ex", "added_in")}
            skipped = modes = 0
            for i in range(warmup + n):
                q = QUESTIONS[i % len(QUESTIONS)]
                partials: list[str] = []
                if i % 2:
                    e, e_ms, e_render = timed(extractive, q, None)
                    a, a_ms, a_render = timed(with_llm, q, partials.append)
                else:
                    a, a_ms, a_render = timed(with_llm, q, partials.append)
                    e, e_ms, e_render = timed(extractive, q, None)
                if i < warmup:
                    continue
                if e.refused or a.refused:
                    skipped += 1
                    continue
                modes += a.mode == "llm"
                model = a.timings_ms.get("llm_ms", 0.0)
                rows["ext"].append(e_ms)
                rows["llm"].append(a_ms)
                rows["model"].append(model)
                rows["llm_net"].append(a_ms - model)
                rows["added"].append(a_ms - model - e_ms)
                rows["added_ex"].append(a_ms - model - a.timings_ms["embed_ms"] - (e_ms - e.timings_ms["embed_ms"]))
                rows["added_in"].append(residual(a) - residual(e) + a_render - e_render)
    finally:
        fake.close()
    counted = len(rows["ext"])
    labels = {
        "ext": "extractive ask + render",
        "llm": "LLM ask + render (instant loopback model, streamed)",
        "model": "model time (`llm_ms`: client request + reading the stream)",
        "llm_net": "LLM ask + render − model time",
        "added": "**added** = (LLM − model) − extractive, paired",
        "added_ex": "**added w/o embedding** = same, each side's `embed_ms` also taken out",
        "added_in": "**added, in-service** (residual outside retrieval steps + render difference)",
    }
    lines = [
        f"LLM-path overhead: {counted} answered questions counted ({skipped} refused, not counted; "
        f"{warmup} warm-up rounds), {modes}/{counted} answered in llm mode.",
        "",
        "| measure | p50 ms | p95 ms | max ms |",
        "|---|---|---|---|",
    ]
    for key, label in labels.items():
        v = rows[key]
        if v:
            lines.append(f"| {label} | {percentile(v, 50):.2f} | {percentile(v, 95):.2f} | {max(v):.2f} |")
    lines += ["", f"Machine: {machine_line(PACKAGES)}"]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=60, help="questions timed (each asked of both services)")
    parser.add_argument("--warmup", type=int, default=6)
    parser.add_argument("--corpus", type=Path, default=ROOT / "corpus")
    args = parser.parse_args()
    print(run(args.corpus, args.n, args.warmup))


if __name__ == "__main__":
    main()
