"""Check the ONNX conversions against the original tfjs models, on identical input tensors.

Three steps, from the repository root (refcli's own virtual environment: numpy, Pillow,
onnxruntime; no TensorFlow):

    python refcli/weights/convert/compare.py prepare --tarballs /tmp/npm --work /tmp/refcli-check
    (cd refcli/weights/convert && npm ci --ignore-scripts && node check_tfjs.mjs /tmp/refcli-check)
    python refcli/weights/convert/compare.py compare --work /tmp/refcli-check \\
        --onnx refcli/weights --onnx /tmp/refcli-unshipped

``prepare`` extracts the unpatched tfjs models from the npm tarballs (sha256 checked) and writes
preprocessed float32 input tensors made from real photos (../../../../shared/media, or --media);
``check_tfjs.mjs`` runs the tfjs models on them with the pure-JS CPU backend; ``compare`` runs the
ONNX files with onnxruntime (one thread) on the very same tensors and prints, per output, the max
absolute difference against tfjs and the tolerance it must stay under. Exit status 1 if any output
is over its tolerance or missing. Since both runtimes read the same tensors, the check measures the
conversion alone, not the preprocessing (which refcli's own code will do).

Tolerance, one rule for every output: each element must satisfy
|onnx - tfjs| <= 1e-3 x max(1, |tfjs|).

- For probabilities (sigmoid / softmax / heat-map and class scores, 0..1) that is 1e-3 absolute.
  A conversion error (a transposed kernel, a wrong padding, a lost bias, NCHW read as NHWC) moves
  them by 0.05..1; float32 rounding in a different kernel order moves them by ~1e-7..1e-5. 1e-3 is
  far under any decision refcli takes on them (gender at 0.5, the top emotion, a detection score
  threshold of 0.2..0.5) and still two orders of magnitude above the rounding noise.
- For unbounded outputs (faceres' descriptor, blazeface's score logits and its box offsets in input
  pixels, nanodet's box-distribution logits, centernet's box sizes and corners in input pixels) it
  is the same relative precision: 1e-3 of a 256- or 512-pixel box coordinate is under a pixel, and
  a logit within 1e-3 x max(1, |logit|) keeps its sigmoid within 2.5e-4.
- centernet's ``detections`` rows are a top-100 of heat-map peaks: peaks whose scores tie within
  rounding may come out in either order, so each tfjs row is matched to an unused ONNX row of the
  same class whose every column is within the tolerance; an unmatched row is a failure.

Faces: the face crops for faceres and emotion come from the boxes in FACES (dlib's HOG detector
found them once, one was chosen by hand), widened 20% each side, 30% up and 15% down. No photo is
copied into the repository: everything is read from the shared media folder at run time.
"""

from __future__ import annotations

import argparse
import json
import sys
import tarfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from convert import MODELS, TARBALLS, sha256  # noqa: E402  (the sibling script; no TensorFlow at import)

REPO = Path(__file__).resolve().parents[3]
DEFAULT_MEDIA = REPO.parent / "shared" / "media"

# (image relative to the media folder, face box x1, y1, x2, y2 in image pixels)
FACES = [
    ("obama.jpg", (349, 142, 617, 409)),
    ("obama3.jpg", (633, 277, 954, 598)),
    ("biden.jpg", (419, 241, 740, 562)),
    ("messi5.jpg", (225, 94, 261, 130)),
    ("coco/coco294.jpg", (108, 100, 185, 177)),
    ("coco/coco415.jpg", (97, 267, 128, 299)),
    ("coco/coco564.jpg", (312, 346, 349, 383)),
    ("coco/coco589.jpg", (429, 200, 447, 218)),
    ("coco/coco474.jpg", (130, 45, 215, 150)),  # a boy in profile: chosen by hand, dlib finds none
]

TOLERANCE = 1e-3


def load_rgb(path: Path) -> np.ndarray:
    from PIL import Image, ImageOps

    with Image.open(path) as im:
        return np.asarray(ImageOps.exif_transpose(im).convert("RGB"))


def resize(rgb: np.ndarray, width: int, height: int) -> np.ndarray:
    """float32 RGB 0..255, bilinear (the method does not matter here: both runtimes get the same)."""
    from PIL import Image

    return np.asarray(Image.fromarray(rgb).resize((width, height), Image.Resampling.BILINEAR), dtype=np.float32)


def widen(box: tuple[int, int, int, int], shape: tuple[int, ...], side: float, up: float, down: float):
    x1, y1, x2, y2 = box
    w, h = x2 - x1, y2 - y1
    return (
        max(0, int(round(x1 - side * w))),
        max(0, int(round(y1 - up * h))),
        min(shape[1], int(round(x2 + side * w))),
        min(shape[0], int(round(y2 + down * h))),
    )


def prepare(args: argparse.Namespace) -> int:
    work: Path = args.work
    (work / "tfjs").mkdir(parents=True, exist_ok=True)
    (work / "inputs").mkdir(exist_ok=True)
    for key, (name, expected) in TARBALLS.items():
        path = args.tarballs / name
        if sha256(path) != expected:
            print(f"{path}: sha256 is not {expected}", file=sys.stderr)
            return 1
        with tarfile.open(path) as tar:
            for model in MODELS:
                if model.tarball != key:
                    continue
                for suffix in (".json", ".bin"):
                    data = tar.extractfile(model.member + suffix)
                    assert data is not None
                    (work / "tfjs" / f"{model.name}{suffix}").write_bytes(data.read())

    media: Path = args.media
    photos = sorted(media.glob("*.jpg")) + sorted(media.glob("coco/*.jpg"))
    if not photos:
        print(f"no photos under {media}", file=sys.stderr)
        return 1
    samples: dict[str, list[dict]] = {m.name: [] for m in MODELS}

    def write(model: str, key: str, tensor: np.ndarray) -> None:
        tensor = np.ascontiguousarray(tensor, dtype="<f4")
        file = Path("inputs") / f"{model}-{key}.bin"
        tensor.tofile(work / file)
        samples[model].append({"key": key, "shape": list(tensor.shape), "file": str(file)})

    for photo in photos:
        rgb = load_rgb(photo)
        key = photo.stem
        write("blazeface", key, resize(rgb, 256, 256)[None] / 127.5 - 1.0)  # the library's [-1, 1]
        write("centernet", key, resize(rgb, 512, 512)[None])  # 0..255
        write("nanodet", key, resize(rgb, 416, 416).transpose(2, 0, 1)[None] / 255.0)  # NCHW 0..1

    crops_224, crops_64 = [], []
    for image, box in FACES:
        rgb = load_rgb(media / image)
        x1, y1, x2, y2 = widen(box, rgb.shape, 0.2, 0.3, 0.15)
        face = rgb[y1:y2, x1:x2]
        crops_224.append(resize(face, 224, 224))
        gray = resize(face, 64, 64) / 255.0 @ np.array([0.2989, 0.5870, 0.1140], np.float32)
        crops_64.append(((gray - 0.5) * 2.0)[..., None])
        hx1, hy1, hx2, hy2 = widen(box, rgb.shape, 0.75, 0.9, 0.6)  # a head region, as refcli will use
        write("blazeface", f"head-{Path(image).stem}", resize(rgb[hy1:hy2, hx1:hx2], 256, 256)[None] / 127.5 - 1.0)
    write("faceres", "faces", np.stack(crops_224))  # one batch: checks the dynamic batch axis too
    write("emotion", "faces", np.stack(crops_64))
    (work / "inputs.json").write_text(json.dumps(samples, indent=1))
    print(f"{work}: {sum(len(v) for v in samples.values())} input tensors from {len(photos)} photos, "
          f"{len(FACES)} faces")
    return 0


def strip_port(name: str) -> str:
    return name[:-2] if name.endswith(":0") else name


def scaled_diff(ref: np.ndarray, got: np.ndarray) -> np.ndarray:
    """|got - ref| / max(1, |ref|), elementwise: the quantity held under TOLERANCE."""
    return np.abs(got - ref) / np.maximum(1.0, np.abs(ref))


def match_detections(ref: np.ndarray, got: np.ndarray) -> tuple[float, float, int]:
    """centernet (1, 100, 6) rows x1 y1 x2 y2 score class: each tfjs row to an unused ONNX row.

    Returns the max |diff| and max scaled diff over matched rows, and how many rows found no match.
    """
    r, g = ref.reshape(-1, 6), got.reshape(-1, 6)
    used = np.zeros(len(g), bool)
    worst_abs = worst_scaled = 0.0
    unmatched = 0
    for row in r:
        scaled = scaled_diff(row[None], g).max(axis=1)
        scaled[used | (g[:, 5] != row[5])] = np.inf
        j = int(np.argmin(scaled))
        if scaled[j] > TOLERANCE:
            unmatched += 1
            continue
        used[j] = True
        worst_scaled = max(worst_scaled, float(scaled[j]))
        worst_abs = max(worst_abs, float(np.abs(g[j] - row).max()))
    return worst_abs, worst_scaled, unmatched


def compare(args: argparse.Namespace) -> int:
    sys.path.insert(0, str(REPO))
    from refcli.onnx import onnxruntime

    ort = onnxruntime()
    work: Path = args.work
    inputs = json.loads((work / "inputs.json").read_text())
    tfjs = json.loads((work / "tfjs_out.json").read_text())
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    failed = False
    report: dict[str, dict] = {}
    print(f"onnxruntime {ort.__version__}, 1 thread; pass: every |onnx - tfjs| <= {TOLERANCE:g} x max(1, |tfjs|)")
    print(f"{'model':10} {'output':22} {'shape':16} {'tfjs min .. max':^24} {'max |diff|':>10} {'max scaled':>10}")
    for model, samples in inputs.items():
        path = next((d / f"{model}.onnx" for d in args.onnx if (d / f"{model}.onnx").exists()), None)
        if path is None or model not in tfjs:
            print(f"{model}: {'no ONNX file' if path is None else 'no tfjs outputs'}", file=sys.stderr)
            failed = True
            continue
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        onnx_outputs = [o.name for o in session.get_outputs()]
        by_name = {strip_port(n): n for n in onnx_outputs}
        input_name = session.get_inputs()[0].name
        worst: dict[str, list] = {}
        elapsed = []
        for sample in samples:
            x = np.fromfile(work / sample["file"], dtype="<f4").reshape(sample["shape"])
            started = time.perf_counter()
            got = dict(zip(onnx_outputs, session.run(None, {input_name: x})))
            elapsed.append(time.perf_counter() - started)
            for ref_out in tfjs[model]["runs"][sample["key"]]:
                name = strip_port(ref_out["name"])
                ref = np.fromfile(work / ref_out["file"], dtype="<f4").reshape(ref_out["shape"])
                if name not in by_name:
                    print(f"{model}: tfjs output {name} is not in the ONNX file ({onnx_outputs})", file=sys.stderr)
                    failed = True
                    continue
                out = np.asarray(got[by_name[name]], dtype=np.float32)
                if out.shape != ref.shape:
                    print(f"{model} {name}: shape {out.shape}, tfjs {ref.shape}", file=sys.stderr)
                    failed = True
                    continue
                unmatched = 0
                if model == "centernet" and name == "tower_0/detections":
                    diff, scaled, unmatched = match_detections(ref, out)
                else:
                    diff, scaled = float(np.abs(out - ref).max()), float(scaled_diff(ref, out).max())
                entry = worst.setdefault(name, [0.0, 0.0, np.inf, -np.inf, ref.shape, 0])
                entry[0] = max(entry[0], diff)
                entry[1] = max(entry[1], scaled)
                entry[2] = min(entry[2], float(ref.min()))
                entry[3] = max(entry[3], float(ref.max()))
                entry[5] += unmatched
        report[model] = {}
        for name, (diff, scaled, lo, hi, shape, unmatched) in worst.items():
            bad = scaled > TOLERANCE or unmatched > 0
            failed |= bad
            note = f"  {unmatched} rows unmatched" if unmatched else ""
            print(f"{model:10} {name:22} {str(tuple(shape)):16} {lo:10.4g} .. {hi:<10.4g} {diff:10.2e} {scaled:10.2e}"
                  f"{'  FAIL' if bad else ''}{note}")
            report[model][name] = {"max_abs_diff": diff, "max_scaled_diff": scaled, "tfjs_min": lo, "tfjs_max": hi,
                                   "shape": list(shape), "unmatched_rows": unmatched}
        report[model]["_ms_per_call_median"] = 1000 * float(np.median(elapsed))
        report[model]["_inputs"] = len(samples)
    if args.report:
        args.report.write_text(json.dumps(report, indent=1))
    print("FAILED: see above" if failed else "all outputs within tolerance")
    return 1 if failed else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("prepare", help="extract the tfjs models, write the input tensors")
    p.add_argument("--tarballs", type=Path, required=True, help="folder holding the two npm tarballs")
    p.add_argument("--work", type=Path, required=True)
    p.add_argument("--media", type=Path, default=DEFAULT_MEDIA, help=f"photos (default {DEFAULT_MEDIA})")
    c = sub.add_parser("compare", help="run the ONNX files, compare with check_tfjs.mjs's outputs")
    c.add_argument("--work", type=Path, required=True)
    c.add_argument("--onnx", type=Path, action="append", required=True, help="folder with NAME.onnx (repeatable)")
    c.add_argument("--report", type=Path, help="also write the numbers as JSON here")
    args = parser.parse_args()
    return prepare(args) if args.command == "prepare" else compare(args)


if __name__ == "__main__":
    sys.exit(main())
