"""jieba's search-mode cut of every Chinese glossary and lexicon term, shipped as data
(``retrieval/zh_cuts.json``), so that an English question, whose BM25 side carries the Chinese
equivalents of its names and terms, is tokenised without loading jieba's dictionary (about a
second and a half of a cold ``industry-qa ask``). A piece the file does not hold (a corpus's own
glossary line, a Chinese question's words) is cut by jieba as before, so the tokens are the same
either way; the file is used only with the jieba version that wrote it.

Regenerate after editing ``glossary.yml`` or ``lexicon.yml`` (a test says when it is stale)::

    python -m retrieval.zh_cuts
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

FILE = "zh_cuts.json"


def jieba_version() -> str:
    try:
        return version("jieba")
    except PackageNotFoundError:  # pragma: no cover - jieba is a dependency
        return ""


@lru_cache(maxsize=1)
def shipped() -> dict[str, tuple[str, ...]]:
    """Piece -> jieba's search-mode words, or nothing when the file is missing, unreadable or
    written by another jieba version."""
    try:
        raw = json.loads(resources.files("retrieval").joinpath(FILE).read_text("utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(raw, dict) or raw.get("jieba") != jieba_version() or not isinstance(raw.get("cuts"), dict):
        return {}
    return {str(k): tuple(map(str, v)) for k, v in raw["cuts"].items() if isinstance(v, list)}


def term_pieces() -> list[str]:
    """The Chinese runs of every shipped glossary and lexicon term, as ``bm25_tokens`` meets them."""
    from .glossary import load_glossary
    from .text import chinese_runs

    pieces = {run for group in load_glossary(None).groups for term in group.terms for run in chinese_runs(term)}
    return sorted(pieces)


def compute(pieces: list[str]) -> dict[str, list[str]]:
    from .text import jieba_search_cut

    return {p: jieba_search_cut(p) for p in pieces}


def main() -> int:
    path = Path(str(resources.files("retrieval").joinpath(FILE)))
    cuts = compute(term_pieces())
    lines = [f"{json.dumps(k, ensure_ascii=False)}: {json.dumps(v, ensure_ascii=False)}" for k, v in cuts.items()]
    path.write_text(f'{{"jieba": {json.dumps(jieba_version())}, "cuts": {{\n' + ",\n".join(lines) + "\n}}\n",
                    encoding="utf-8")
    print(f"wrote {path} ({len(cuts)} pieces)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
