"""The sparse side of the index: BM25 over our own English/Chinese tokens, stored as postings that
readers memory-map.

The score is bm25s's default ("lucene": k1 1.5, b 0.75, idf = log(1 + (N - df + 0.5) / (df + 0.5)),
a term's weight = idf * tf / (tf + k1 * (1 - b + b * length / mean length))); a test checks it
against bm25s itself. Tokens are known by a 64-bit hash, so no vocabulary has to be parsed to
answer a question, and a new generation re-uses the previous one's postings for the chunks it
carries over: only new chunks are tokenised.

``bm25/`` holds: ``vocab.npy`` (uint64, sorted token hashes; a token's id is its position),
``postings.npy`` (int64, where each token's postings start; V + 1 entries), ``docs.npy`` (int32,
the chunk of each posting), ``tf.npy`` (uint16, the token's count in the chunk), ``scores.npy``
(float32, the posting's weight) and ``lengths.npy`` (int32, tokens per chunk).
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..text import bm25_tokens

K1, B = 1.5, 0.75
VOCAB, POSTINGS, DOCS, TF, SCORES, LENGTHS = "vocab.npy", "postings.npy", "docs.npy", "tf.npy", "scores.npy", "lengths.npy"
FILES = (VOCAB, POSTINGS, DOCS, TF, SCORES, LENGTHS)
MAX_TF = np.iinfo(np.uint16).max


def token_hash(token: str) -> int:
    return int.from_bytes(hashlib.blake2b(token.encode("utf-8"), digest_size=8).digest(), "little")


@dataclass
class Terms:
    """Token counts of some chunks, chunk by chunk: chunk ``i``'s distinct tokens are
    ``hashes[offsets[i]:offsets[i + 1]]``, each counted ``tf`` times; ``lengths[i]`` counts all."""

    offsets: np.ndarray  # int64, n + 1
    hashes: np.ndarray  # uint64
    tf: np.ndarray  # uint16
    lengths: np.ndarray  # int32, n

    @staticmethod
    def empty() -> Terms:
        return Terms(np.zeros(1, np.int64), np.zeros(0, np.uint64), np.zeros(0, np.uint16), np.zeros(0, np.int32))

    @staticmethod
    def concat(parts: Sequence[Terms]) -> Terms:
        if not parts:
            return Terms.empty()
        sizes = np.array([len(p.hashes) for p in parts], dtype=np.int64)
        bases = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        offsets = np.concatenate([[0]] + [p.offsets[1:] + b for p, b in zip(parts, bases, strict=True)])
        return Terms(offsets.astype(np.int64), np.concatenate([p.hashes for p in parts]),
                     np.concatenate([p.tf for p in parts]), np.concatenate([p.lengths for p in parts]))


def terms_of(texts: Sequence[str], tokenizer: Callable[[str], list[str]] = bm25_tokens) -> Terms:
    """Tokenise ``texts`` (an empty text counts as one empty token, as bm25s does)."""
    offsets = [0]
    hashes: list[int] = []
    tf: list[int] = []
    lengths: list[int] = []
    for text in texts:
        tokens = tokenizer(text) or [""]
        counts = Counter(tokens)
        hashes.extend(token_hash(t) for t in counts)
        tf.extend(min(c, MAX_TF) for c in counts.values())
        lengths.append(len(tokens))
        offsets.append(len(hashes))
    return Terms(np.asarray(offsets, np.int64), np.asarray(hashes, np.uint64), np.asarray(tf, np.uint16),
                 np.asarray(lengths, np.int32))


def write_bm25(folder: Path, *, n_chunks: int, carried: tuple[Path, np.ndarray] | None,
               new_terms: Terms, new_chunks: np.ndarray) -> None:
    """Write the postings of a generation of ``n_chunks`` chunks: those of the previous generation's
    ``bm25/`` folder whose chunks are carried over (``carried``: (folder, old chunk -> new chunk,
    -1 for a chunk not carried)), plus ``new_terms`` for the chunks numbered ``new_chunks``.

    The carried postings are already grouped by token in hash order, which the new vocabulary keeps,
    so they are merged with the (few) new ones by position, without sorting them again."""
    lengths = np.zeros(n_chunks, dtype=np.int32)
    lengths[new_chunks] = new_terms.lengths
    order = np.argsort(new_terms.hashes, kind="stable")
    new_hashes = new_terms.hashes[order]
    new_docs = np.repeat(np.asarray(new_chunks, dtype=np.int32), np.diff(new_terms.offsets))[order]
    new_tf = new_terms.tf[order]
    old_vocab, old_docs, old_tf, kept_counts = np.zeros(0, np.uint64), np.zeros(0, np.int32), np.zeros(0, np.uint16), None
    if carried is not None:
        old, old_to_new = _open(carried[0]), np.asarray(carried[1], dtype=np.int64)
        moved = old_to_new[old[DOCS]]
        keep = moved >= 0
        running = np.concatenate([[0], np.cumsum(keep, dtype=np.int64)])
        kept_counts = running[old[POSTINGS][1:]] - running[old[POSTINGS][:-1]]
        old_vocab, old_docs, old_tf = np.asarray(old[VOCAB]), moved[keep].astype(np.int32), np.asarray(old[TF])[keep]
        alive = old_to_new >= 0
        lengths[old_to_new[alive]] = old[LENGTHS][alive]
        del moved, keep, running
    live_old = kept_counts > 0 if kept_counts is not None else np.zeros(0, dtype=bool)
    vocab = np.union1d(old_vocab[live_old], new_hashes).astype(np.uint64)
    new_tok = np.searchsorted(vocab, new_hashes)
    new_per_token = np.bincount(new_tok, minlength=len(vocab))
    old_per_token = np.zeros(len(vocab), dtype=np.int64)
    if kept_counts is not None:
        old_ids = np.searchsorted(vocab, old_vocab[live_old])
        old_per_token[old_ids] = kept_counts[live_old]
    df = old_per_token + new_per_token
    postings = np.concatenate([[0], np.cumsum(df)]).astype(np.int64)
    doc_col = np.empty(int(postings[-1]), dtype=np.int32)
    tf_col = np.empty(int(postings[-1]), dtype=np.uint16)
    if kept_counts is not None:  # a token's carried postings first, in their old order
        old_tok = np.repeat(old_ids, kept_counts[live_old])
        at = np.arange(len(old_tok), dtype=np.int64) + (postings[:-1] - np.cumsum(old_per_token) + old_per_token)[old_tok]
        doc_col[at], tf_col[at] = old_docs, old_tf
        del old_tok, at
    at = np.arange(len(new_tok), dtype=np.int64) + (postings[:-1] + old_per_token - np.concatenate([[0], np.cumsum(new_per_token)[:-1]]))[new_tok]
    doc_col[at], tf_col[at] = new_docs, new_tf
    idf = np.log(1 + (n_chunks - df + 0.5) / (df + 0.5))
    mean_length = float(lengths.mean()) if n_chunks else 1.0
    norm = K1 * ((1 - B) + B * lengths / mean_length)
    weights = (np.repeat(idf, df) * tf_col / (norm[doc_col] + tf_col)).astype(np.float32)
    folder.mkdir(parents=True, exist_ok=True)
    for name, arr in ((VOCAB, vocab), (POSTINGS, postings), (DOCS, doc_col), (TF, tf_col), (SCORES, weights),
                      (LENGTHS, lengths)):
        np.save(folder / name, arr, allow_pickle=False)


def _open(folder: Path) -> dict[str, np.ndarray]:
    """Memory-mapped, as plain ndarrays over the maps (indexing an ``np.memmap`` costs a view object each time)."""
    return {name: np.asarray(np.load(folder / name, mmap_mode="r", allow_pickle=False)) for name in FILES}


class BM25Side:
    """A generation's postings, memory-mapped: a question reads only its own tokens' postings."""

    def __init__(self, folder: Path, n_chunks: int, tokenizer: Callable[[str], list[str]] = bm25_tokens) -> None:
        self._a = _open(folder)
        self.n_chunks = n_chunks
        self._tokenizer = tokenizer
        a = self._a
        if (len(a[POSTINGS]) != len(a[VOCAB]) + 1 or int(a[POSTINGS][-1]) != len(a[DOCS])
                or not len(a[DOCS]) == len(a[TF]) == len(a[SCORES]) or len(a[LENGTHS]) != n_chunks):
            raise ValueError("BM25 postings do not fit together")

    def token_ids(self, query: str) -> tuple[np.ndarray, np.ndarray]:
        """The ids of the question's tokens that the index knows, and how often each occurs."""
        counts = Counter(token_hash(t) for t in self._tokenizer(query))
        if not counts:
            return np.zeros(0, np.int64), np.zeros(0, np.float64)
        wanted = np.fromiter(counts, dtype=np.uint64, count=len(counts))
        vocab = self._a[VOCAB]
        pos = np.searchsorted(vocab, wanted)
        known = (pos < len(vocab)) & (vocab[np.minimum(pos, len(vocab) - 1)] == wanted) if len(vocab) else pos < 0
        mult = np.fromiter(counts.values(), dtype=np.float64, count=len(counts))
        return pos[known].astype(np.int64), mult[known]

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every chunk for the question (float64; zeros if no term is known). A token
        that occurs twice in the question counts twice, as in bm25s."""
        ids, mult = self.token_ids(query)
        if not len(ids):
            return np.zeros(self.n_chunks, dtype=np.float64)
        starts, ends = self._a[POSTINGS][ids], self._a[POSTINGS][ids + 1]
        docs = np.concatenate([self._a[DOCS][s:e] for s, e in zip(starts, ends, strict=True)])
        weights = np.concatenate([self._a[SCORES][s:e] for s, e in zip(starts, ends, strict=True)])
        if (mult != 1).any():
            weights = weights * np.repeat(mult, ends - starts)
        return np.bincount(docs, weights=weights, minlength=self.n_chunks)
