"""What "the person holding a ball" costs per frame on each path, and what the cache and the
cheap-constraint prefilter save, measured here.

    python bench/bench_objects.py [--frames 3] [--backends owlv2 grounding-dino florence-2]

1. Per-frame time of each object grounder at its published size (OWLv2 B/16 at 960 px, Grounding
   DINO-T (Swin-T + BERT-base, 900 queries) at 800x1333, Florence-2-base (DaViT + BART-base) at
   768 px), through refcli's grounder code (processor, model, post-processing), as a ratio to the
   embedded person detector on the same frames. No weights can be downloaded here, so the models
   are built from their configs with random weights: compute does not depend on weight values,
   except Florence-2's generation length, which is fixed at 8 new tokens (one box: the phrase,
   four location tokens, the end).
2. The geometry that judges a relation, per (person, object) pair.
3. On examples/footage: frames grounded by a first query, by the same query again (the cache),
   and by a query whose cheaper constraints leave fewer candidates, with the time each would take
   with each grounder above (frames x per-frame time).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from typing import Any

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests"))

from refcli.detect import create_detector  # noqa: E402
from refcli.ground import create_grounder  # noqa: E402
from refcli.io.image import load_image  # noqa: E402
from refcli.refer.relations import Body, relates  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "tests", "data")
FRAMES = ["humanref_mini/vtest_0.0.jpg", "messi5.jpg", "camera.png", "humanref_mini/vtest_3.5.jpg",
          "astronaut.jpg"]


def owlv2_base() -> tuple[Any, Any]:
    from test_grounders import owlv2  # the tokenizer of the tiny model: queries are a few tokens either way
    from transformers import Owlv2Config, Owlv2ForObjectDetection, Owlv2Processor
    from transformers.models.owlv2.image_processing_pil_owlv2 import Owlv2ImageProcessorPil

    with tempfile.TemporaryDirectory() as tmp:
        tokenizer = Owlv2Processor.from_pretrained(owlv2(_path(tmp, "owl"))).tokenizer
    config = Owlv2Config(text_config={"vocab_size": 49408, "hidden_size": 512, "num_hidden_layers": 12,
                                      "num_attention_heads": 8, "intermediate_size": 2048,
                                      "max_position_embeddings": 16},
                         vision_config={"hidden_size": 768, "num_hidden_layers": 12, "num_attention_heads": 12,
                                        "intermediate_size": 3072, "image_size": 960, "patch_size": 16},
                         projection_dim=512)
    processor = Owlv2Processor(image_processor=Owlv2ImageProcessorPil(size={"height": 960, "width": 960}),
                               tokenizer=tokenizer)
    return processor, Owlv2ForObjectDetection(config).eval()


def grounding_dino_tiny() -> tuple[Any, Any]:
    from transformers import BertTokenizerFast, GroundingDinoConfig, GroundingDinoForObjectDetection
    from transformers.models.grounding_dino.image_processing_pil_grounding_dino import (
        GroundingDinoImageProcessorPil,
    )
    from transformers.models.grounding_dino.processing_grounding_dino import GroundingDinoProcessor

    with tempfile.TemporaryDirectory() as tmp:
        vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "."] + list("abcdefghijklmnopqrstuvwxyz")
        path = os.path.join(tmp, "vocab.txt")
        with open(path, "w") as f:
            f.write("\n".join(vocab))
        tokenizer = BertTokenizerFast(vocab_file=path)
    config = GroundingDinoConfig(use_pretrained_backbone=False)  # Swin-T + BERT-base, the -tiny model
    processor = GroundingDinoProcessor(image_processor=GroundingDinoImageProcessorPil(
        size={"shortest_edge": 800, "longest_edge": 1333}), tokenizer=tokenizer)
    return processor, GroundingDinoForObjectDetection(config).eval()


def florence2_base() -> tuple[Any, Any]:
    from test_grounders import florence2
    from transformers import BartConfig, Florence2Config, Florence2ForConditionalGeneration, Florence2Processor
    from transformers.models.clip.image_processing_pil_clip import CLIPImageProcessorPil

    with tempfile.TemporaryDirectory() as tmp:
        tiny = Florence2Processor.from_pretrained(florence2(_path(tmp, "f2")))
    images = CLIPImageProcessorPil(size={"height": 768, "width": 768}, crop_size={"height": 768, "width": 768},
                                   do_center_crop=False)
    images.image_seq_length = 577
    processor = Florence2Processor(image_processor=images, tokenizer=tiny.tokenizer,
                                   post_processor_config={"phrase_grounding": {"banned_grounding_tokens": []}})
    text = BartConfig(vocab_size=51289, d_model=768, encoder_layers=6, decoder_layers=6, encoder_attention_heads=12,
                      decoder_attention_heads=12, encoder_ffn_dim=3072, decoder_ffn_dim=3072,
                      max_position_embeddings=1024, pad_token_id=1, bos_token_id=0, eos_token_id=2,
                      decoder_start_token_id=2)
    vision = {"depths": [1, 1, 9, 1], "embed_dim": [128, 256, 512, 1024], "num_heads": [4, 8, 16, 32],
              "num_groups": [4, 8, 16, 32], "window_size": 12, "projection_dim": 768, "drop_path_rate": 0.0}
    model = Florence2ForConditionalGeneration(Florence2Config(text_config=text.to_dict(), vision_config=vision,
                                                              image_token_id=tiny.tokenizer.image_token_id))
    return processor, model.eval()


def _path(tmp: str, name: str) -> Any:
    from pathlib import Path

    return Path(tmp) / name


BUILDERS = {"owlv2": owlv2_base, "grounding-dino": grounding_dino_tiny, "florence-2": florence2_base}


def per_frame(fn: Any, images: list[np.ndarray]) -> float:
    """Seconds per frame, one frame at a time, after one warm-up frame."""
    fn([images[0]])
    start = time.perf_counter()
    for image in images:
        fn([image])
    return (time.perf_counter() - start) / len(images)


def florence_fixed_length(processor: Any, model: Any, task: str) -> Any:
    """Florence-2 grounding with generation fixed at 8 new tokens (a random model never stops)."""
    import torch
    from PIL import Image

    def ground(batch: list[np.ndarray]) -> Any:
        with torch.inference_mode():
            inputs = processor(text=[task + "ball"] * len(batch), images=[Image.fromarray(b) for b in batch],
                               return_tensors="pt", padding=True)
            out = model.generate(input_ids=inputs["input_ids"], pixel_values=inputs["pixel_values"],
                                 max_new_tokens=8, min_new_tokens=8, num_beams=1, do_sample=False)
        return processor.batch_decode(out, skip_special_tokens=False)

    return ground


def grounder_costs(images: list[np.ndarray], backends: list[str]) -> dict[str, float]:
    detector = create_detector("ssdlite")
    detect = per_frame(detector.detect, images)
    print(f"embedded person detector: {detect * 1000:.1f} ms/frame")
    costs = {}
    for name in backends:
        started = time.perf_counter()
        processor, model = BUILDERS[name]()
        built = time.perf_counter() - started
        params = sum(p.numel() for p in model.parameters()) / 1e6
        grounder = create_grounder(name, model="random-weights", device="cpu", batch_size=1)
        grounder.__dict__["parts"] = (processor, model)  # built here, not loaded from a folder
        grounder.__dict__["path"] = "random-weights"
        ground = (florence_fixed_length(processor, model, grounder.task) if name == "florence-2"
                  else lambda batch, grounder=grounder: grounder.ground(batch, "ball"))
        costs[name] = per_frame(ground, images)
        print(f"{name}: {params:.0f} M weights, {costs[name]:.2f} s/frame = {costs[name] / detect:.0f}x the "
              f"person detector (built from its config in {built:.0f} s)")
    return costs


def relation_cost() -> None:
    rng = np.random.default_rng(0)
    keypoints = {"left_wrist": (110.0, 200.0), "right_wrist": (190.0, 205.0), "left_hip": (130.0, 260.0),
                 "right_hip": (170.0, 260.0), "nose": (150.0, 120.0), "left_shoulder": (125.0, 160.0),
                 "right_shoulder": (175.0, 160.0)}
    bodies = [Body((100.0, 100.0, 200.0, 400.0), keypoints), Body((100.0, 100.0, 200.0, 400.0), {})]
    things = [[float(x), float(y), float(x + 30), float(y + 30)] for x, y in rng.uniform(0, 400, (1000, 2))]
    relations = ["holding", "wearing", "sitting_on", "near", "behind", "looking_at"]
    start = time.perf_counter()
    for body in bodies:
        for relation in relations:
            for thing in things:
                relates(relation, body, [thing], "hat")
    us = (time.perf_counter() - start) / (len(bodies) * len(relations) * len(things)) * 1e6
    print(f"relation geometry: {us:.1f} us per (person, object, relation), with and without keypoints")


def footage_queries(costs: dict[str, float]) -> None:
    from test_grounders import owlv2
    from typer.testing import CliRunner

    from refcli.cli.app import app

    runner = CliRunner()
    footage = os.path.join(HERE, "..", "examples", "footage")
    with tempfile.TemporaryDirectory() as tmp:
        db = os.path.join(tmp, "db")
        assert runner.invoke(app, ["index", footage, "--db", db, "--json"]).exit_code == 0
        model = str(owlv2(_path(tmp, "owl")))
        frames = json.loads(runner.invoke(app, ["status", "--db", db, "--json"]).stdout)["frames"]

        def ask(query: str) -> tuple[int, float]:
            start = time.perf_counter()
            out = runner.invoke(app, ["find", query, "--db", db, "--json", "--grounder", "owlv2",
                                      "--grounder-model", model, "--device", "cpu"])
            assert out.exit_code == 0, out.output
            return json.loads(out.stdout)["frames_grounded"], time.perf_counter() - start

        print(f"\nexamples/footage ({frames or '?'} sampled frames indexed); frames grounded per query, and what "
              "they would cost with each grounder on this CPU:")
        for label, query in [("first query", "the person holding a ball"),
                             ("same query again (cache)", "the person holding a ball"),
                             ("a second object", "the person holding a phone"),
                             ("cheaper constraints first", "the person in red on the left holding a cup")]:
            grounded, seconds = ask(query)
            estimate = ", ".join(f"{name} {grounded * cost:.0f} s" for name, cost in costs.items())
            print(f"  {label:<28} {query!r}: {grounded} frames grounded ({estimate}); "
                  f"refcli's own time with a tiny OWLv2 {seconds:.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=3)
    parser.add_argument("--backends", nargs="*", default=list(BUILDERS))
    args = parser.parse_args()
    import torch
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    torch.manual_seed(0)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    images = [load_image(os.path.join(DATA, name)) for name in FRAMES[:args.frames]]
    print(f"frames: {', '.join(f'{i.shape[1]}x{i.shape[0]}' for i in images)}")
    costs = grounder_costs(images, args.backends)
    relation_cost()
    footage_queries(costs)
    if costs:
        print("\nper frame: " + ", ".join(f"{n} {c:.2f} s" for n, c in costs.items())
              + f"; median {statistics.median(costs.values()):.2f} s")


if __name__ == "__main__":
    main()
