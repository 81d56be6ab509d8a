"""The benchmark suite is not run in CI (too slow); this keeps its metric code from rotting."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from benchmarks.calibrate_refusal import fit_logistic, predict, refusal_metrics
from benchmarks.datasets import first_words
from benchmarks.metrics import dedup_docs, hit_at_k, mrr_at_k, paired_gap, percentile, summarize


def test_rank_metrics_on_a_hand_made_example() -> None:
    ranked = ["d3", "d1", "d7"]
    assert hit_at_k(ranked, {"d1"}, 1) == 0.0
    assert hit_at_k(ranked, {"d1"}, 5) == 1.0
    assert mrr_at_k(ranked, {"d1"}) == 0.5
    assert mrr_at_k(ranked, {"d9"}) == 0.0
    assert mrr_at_k(["x"] * 10 + ["d1"], {"d1"}, 10) == 0.0  # beyond the cut-off
    s = summarize([ranked, ["d1"]], [{"d1"}, {"d1"}])
    assert s["n"] == 2 and s["hit@1"] == 0.5 and s["hit@5"] == 1.0 and s["mrr@10"] == 0.75


def test_chunks_become_documents_in_order_of_their_best_chunk() -> None:
    chunk_doc = np.array([0, 0, 1, 2, 1])
    assert dedup_docs([1, 0, 4, 3], chunk_doc) == [0, 1, 2]
    assert dedup_docs([4, 2, 3, 0], chunk_doc, limit=2) == [1, 2]


def test_refusal_fit_separates_an_easy_case() -> None:
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(0.8, 0.05, (50, 3)), rng.normal(0.3, 0.05, (50, 3))])
    y = np.array([1] * 50 + [0] * 50)
    w = fit_logistic(X, y)
    m = refusal_metrics(y, predict(w, X))
    assert m["refusal_precision"] == 1.0 and m["refusal_recall"] == 1.0 and m["false_refusal_rate"] == 0.0


def test_helpers() -> None:
    assert first_words("a  b\nc d", 3) == "a  b\nc"
    assert first_words("a b", 5) == "a b"
    assert percentile([1, 2, 3, 4, 5], 50) == 3 and percentile([1, 2, 3, 4, 5], 95) == 5


def test_paired_gap_counts_wins_and_bounds_the_mean() -> None:
    rel = [{1}, {2}, {3}, {4}]
    a = [[1], [2], [9, 3], [4]]  # right at rank 1, 1, 2, 1
    b = [[9, 1], [2], [3], [8]]  # right at rank 2, 1, 1, never
    gap = paired_gap(a, b, rel, resamples=2000)
    assert gap["hit@1"]["wins"] == 2 and gap["hit@1"]["losses"] == 1
    assert abs(gap["hit@1"]["diff"] - 0.25) < 1e-9
    assert abs(gap["mrr@10"]["diff"] - (0.5 + 0 - 0.5 + 1) / 4) < 1e-9
    assert gap["mrr@10"]["lo"] <= gap["mrr@10"]["diff"] <= gap["mrr@10"]["hi"]
    same = paired_gap(a, a, rel, resamples=100)["mrr@10"]
    assert same == {"diff": 0.0, "lo": 0.0, "hi": 0.0, "wins": 0, "losses": 0}


def test_a_separately_measured_section_is_spliced_in_without_touching_the_rest(tmp_path: Path) -> None:
    from benchmarks.report import GOALS_HEADING
    from benchmarks.splice import splice_separate

    separate = tmp_path / "MEASURED_SEPARATELY.md"
    separate.write_text("<!-- how this file is used -->\n## Slack bot\n\nnew numbers\n\n## Replicas\n\nmore\n")
    out = tmp_path / "BENCHMARKS.md"
    out.write_text(f"# Benchmarks\n\n## Speed\n\nkept\n\n## Slack bot\n\nold numbers\n\n{GOALS_HEADING}\n\nkept too\n")
    splice_separate(out, separate)
    assert out.read_text() == (f"# Benchmarks\n\n## Speed\n\nkept\n\n## Slack bot\n\nnew numbers\n\n## Replicas\n\nmore"
                               f"\n\n{GOALS_HEADING}\n\nkept too\n")


def test_a_speed_run_replaces_its_section_and_goal_rows_and_keeps_the_quality_ones(tmp_path: Path) -> None:
    from benchmarks.report import GOALS_HEADING
    from benchmarks.splice import splice_speed

    row = {"chunks": 1_000_000, "synthetic_chunks": 986_000, "vectors_synthetic": 5, "dense": "ivf",
           "query_embedding_ms": {"p50": 13, "p95": 30}, "search_only_ms": {"p50": 20, "p95": 61},
           "retrieval_ms": {"p50": 35, "p95": 90}, "answer_ms": {"p50": 60, "p95": 140},
           "answer_without_embedding_ms": {"p50": 45, "p95": 110}, "exact_dense_ms": {"p50": 150, "p95": 170},
           "recall_at_10": 0.99, "recall_at_100": 0.97, "final_top5_overlap": 1.0, "questions_per_s_4_threads": 20,
           "index_load_s": 0.5, "cold_ask_s": [2.0, 6.5], "peak_rss_mb": 2000, "anon_mb": 900, "file_mb": 800,
           "load_average": [1.0], "sentences": 3, "articles": 2, "files_mb": {"texts.bin": 350.0}}
    sp = {"machine": {"date": "d", "cpu": "c", "cores": 2, "memory_gb": 1, "python": "3", "commit": "abc", "packages": {}},
          "sizes": {"1000000": row}}
    out = tmp_path / "BENCHMARKS.md"
    quality_row = "| RGB zh_refine (Chinese) (test): project hit@1 >= best baseline | 0.8 vs 0.7 | yes |"
    out.write_text(f"# B\n\n## Retrieval quality\n\nkept\n\n## Speed and size\n\n_Measured long ago._\n\nold table\n\n### Index build\n\nold build row\n\n## Slack bot\n\nkept too\n\n"
                   f"{GOALS_HEADING}\n\n| goal | measured | met |\n|---|---|---|\n{quality_row}\n"
                   "| 100k chunks: peak RSS < 2 GB | 991 MB | yes |\n\n## Notes\n\nkept three\n")
    splice_speed(sp, out)
    text = out.read_text()
    assert "old table" not in text and "| 1,000,000 | 986,000 | 5 | ivf |" in text
    assert "### Index build\n\nNot measured by the run above; kept from the earlier run: _Measured long ago._\n" in text and "\nold build row\n" in text
    assert "## Retrieval quality\n\nkept\n" in text and "## Slack bot\n\nkept too\n" in text and text.endswith("## Notes\n\nkept three\n")
    goals = text.split(GOALS_HEADING)[1].split("## Notes")[0]
    assert quality_row in goals and "991 MB" not in goals
    assert "| 1M chunks: retrieval p95 (search, no query embedding) <= 60 ms | 61.0 ms | no |" in goals
    assert "| 1M chunks: cold `industry-qa ask` <= 5 s | 6.5 s | no |" in goals
    assert "| 1M chunks: full extractive answer p95 <= 150 ms | 140.0 ms | yes |" in goals
    splice_speed(sp, out)  # a second run keeps the first stamp of what neither run measured
    again = out.read_text()
    assert again.count("kept from the earlier run") == 1 and "_Measured long ago._\nold build row" not in again
    assert again.count("\nold build row\n") == 1 and "earlier run: _Measured long ago._" in again
