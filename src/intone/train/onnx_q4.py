"""The 4-bit ONNX build for the browser: onnxruntime's MatMulNBits for every MatMul, and the
tied embedding reading its rows from the LM head's 4-bit table (see `intone.train.onnx_export`).
"""

from __future__ import annotations

from pathlib import Path

Q4_BLOCK = 32
"""Weights per 4-bit block (one scale and zero point each)."""


def quantize_q4(source: Path, target: Path, *, accuracy_level: int | None = None) -> str:
    """4-bit blocks for every MatMul (onnxruntime's MatMulNBits), the LM head included; the embedding
    then reads its rows from the head's packed weights when the two are tied, as in Gemma.

    Returns how the embedding was stored. onnxruntime's own 4-bit Gather (GatherBlockQuantized) runs
    in Python but onnxruntime-web's wasm build has no kernel for it, so the rows are unpacked with
    standard ops (Gather, BitwiseAnd, BitShift, Cast, Mul) that every build has.
    """
    import logging

    import numpy as np
    import onnx
    from onnx import numpy_helper
    from onnxruntime.quantization import QuantFormat
    from onnxruntime.quantization.matmul_nbits_quantizer import (
        DefaultWeightOnlyQuantConfig,
        MatMulNBitsQuantizer,
    )

    logging.getLogger("onnxruntime.quantization.matmul_nbits_quantizer").setLevel(logging.ERROR)
    model = onnx.load(str(source))
    embedding, head = _tied_weights(model.graph)
    tied = (embedding is not None and head is not None
            and np.array_equal(numpy_helper.to_array(head), numpy_helper.to_array(embedding).T))
    # Asymmetric (a zero point per block): on the 270M, PyTorch's top-1 token was kept at 40 of 60
    # positions against 19 for symmetric blocks (8-bit blocks kept 57).
    config = DefaultWeightOnlyQuantConfig(block_size=Q4_BLOCK, is_symmetric=False, quant_format=QuantFormat.QOperator,
                                          op_types_to_quantize=("MatMul",), quant_axes=(("MatMul", 0),),
                                          accuracy_level=accuracy_level)
    quantizer = MatMulNBitsQuantizer(model, algo_config=config)
    with np.errstate(divide="ignore", invalid="ignore"):
        quantizer.process()
    model = quantizer.model.model
    stored = "fp32 (not tied to the LM head)"
    if tied and _gather_from_packed_head(model.graph, embedding.name, head.name):
        stored = "shared with the 4-bit LM head"
    onnx.save(model, str(target))
    return stored


def _tied_weights(graph):
    """The embedding table (a Gather's [V, H] initializer) and the LM head's [H, V] MatMul weight."""
    weights = {t.name: t for t in graph.initializer}
    embedding = next((weights[n.input[0]] for n in graph.node
                      if n.op_type == "Gather" and n.input[0] in weights and len(weights[n.input[0]].dims) == 2), None)
    if embedding is None:
        return None, None
    rows, cols = embedding.dims
    head = next((weights[n.input[1]] for n in graph.node if n.op_type == "MatMul" and n.input[1] in weights
                 and list(weights[n.input[1]].dims) == [cols, rows]), None)
    return embedding, head


def _gather_from_packed_head(graph, embedding_name: str, head_name: str) -> bool:
    """Replace the embedding Gather with row lookups in the LM head's MatMulNBits weights.

    MatMulNBits keeps B as [N, K/block, block/2] bytes (low nibble first), scales as [N, K/block]
    and zero points as [N, ceil(K/block / 2)] nibbles (8 when absent); with N the vocabulary,
    row i of those is embedding row i, quantized.
    """
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper

    matmul = next((n for n in graph.node if n.op_type == "MatMulNBits" and n.input[1].startswith(head_name)), None)
    gather = next((n for n in graph.node if n.op_type == "Gather" and n.input[0] == embedding_name), None)
    if matmul is None or gather is None:
        return False
    attrs = {a.name: helper.get_attribute_value(a) for a in matmul.attribute}
    if attrs.get("bits") != 4 or attrs["K"] % attrs["block_size"]:
        return False
    hidden, blocks, block = attrs["K"], attrs["K"] // attrs["block_size"], attrs["block_size"]
    packed, scales, ids, out = matmul.input[1], matmul.input[2], gather.input[1], gather.output[0]
    zero_points = matmul.input[3] if len(matmul.input) > 3 and matmul.input[3] else None
    p = "/intone/embed_from_lm_head/"

    def const(name, array):
        graph.initializer.append(numpy_helper.from_array(array, p + name))
        return p + name

    c15, c4 = const("15", np.array(15, np.uint8)), const("4", np.array(4, np.uint8))
    last = const("last", np.array([-1], np.int64))

    def nibbles(source: str, name: str) -> list:
        """[..., n] bytes -> [..., 2n] 4-bit values as float, low nibble first."""
        return [
            helper.make_node("BitwiseAnd", [source, c15], [p + name + "_low"]),
            helper.make_node("BitShift", [source, c4], [p + name + "_high"], direction="RIGHT"),
            helper.make_node("Unsqueeze", [p + name + "_low", last], [p + name + "_low1"]),
            helper.make_node("Unsqueeze", [p + name + "_high", last], [p + name + "_high1"]),
            helper.make_node("Concat", [p + name + "_low1", p + name + "_high1"], [p + name + "_pairs"], axis=-1),
            helper.make_node("Cast", [p + name + "_pairs"], [p + name + "_float"], to=TensorProto.FLOAT),
        ]

    nodes = [helper.make_node("Gather", [packed, ids], [p + "bytes"], axis=0), *nibbles(p + "bytes", "weights"),
             helper.make_node("Reshape", [p + "weights_float", const("block_shape", np.array([0, 0, blocks, block], np.int64))],
                              [p + "blocks"])]
    if zero_points is None:
        nodes.append(helper.make_node("Sub", [p + "blocks", const("8", np.array(8, np.float32))], [p + "centered"]))
    else:
        nodes += [helper.make_node("Gather", [zero_points, ids], [p + "zp_bytes"], axis=0), *nibbles(p + "zp_bytes", "zp"),
                  helper.make_node("Reshape", [p + "zp_float", const("zp_shape", np.array([0, 0, -1], np.int64))],
                                   [p + "zp_all"]),
                  helper.make_node("Slice", [p + "zp_all", const("zero", np.array([0], np.int64)),
                                             const("block_count", np.array([blocks], np.int64)), last], [p + "zp"]),
                  helper.make_node("Unsqueeze", [p + "zp", last], [p + "zp1"]),
                  helper.make_node("Sub", [p + "blocks", p + "zp1"], [p + "centered"])]
    nodes += [
        helper.make_node("Gather", [scales, ids], [p + "row_scales"], axis=0),
        helper.make_node("Unsqueeze", [p + "row_scales", last], [p + "row_scales1"]),
        helper.make_node("Mul", [p + "centered", p + "row_scales1"], [p + "scaled"]),
        helper.make_node("Reshape", [p + "scaled", const("row_shape", np.array([0, 0, hidden], np.int64))], [out]),
    ]
    at = list(graph.node).index(gather)
    graph.node.remove(gather)
    for offset, node in enumerate(nodes):
        graph.node.insert(at + offset, node)
    table = next(t for t in graph.initializer if t.name == embedding_name)
    graph.initializer.remove(table)
    return True


def share_lm_head(path: Path) -> None:
    """Store the tied LM head once: the tracer wrote a transposed copy of the embedding for it.

    The head becomes a Transpose of the embedding, which onnxruntime folds when it loads the model.
    """
    import numpy as np
    import onnx
    from onnx import helper, numpy_helper

    model = onnx.load(str(path))
    graph = model.graph
    weights = {t.name: t for t in graph.initializer}
    gathers = [n.input[0] for n in graph.node if n.op_type == "Gather" and n.input[0] in weights]
    if not gathers:
        return
    embedding = weights[gathers[0]]
    rows, cols = embedding.dims
    for node in graph.node:
        if node.op_type != "MatMul" or node.input[1] not in weights:
            continue
        head = weights[node.input[1]]
        if list(head.dims) != [cols, rows]:
            continue
        if not np.array_equal(numpy_helper.to_array(head), numpy_helper.to_array(embedding).T):
            continue
        graph.initializer.remove(head)
        graph.node.insert(0, helper.make_node("Transpose", [embedding.name], [head.name], perm=[1, 0]))
        onnx.save(model, str(path))
        return
