"""Object grounders: calibration, the transformers code paths on tiny random models built from
configs (OWLv2, Grounding DINO, Florence-2), and `find --grounder`'s cost control and cache."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from test_hf_detectors import grounding_dino
from typer.testing import CliRunner

from refcli.cli.app import app
from refcli.errors import BackendError
from refcli.ground import calibrate, create_grounder
from refcli.io.image import load_image

runner = CliRunner()


def owlv2(folder: Path) -> Path:
    import torch
    from transformers import CLIPTokenizer, Owlv2Config, Owlv2ForObjectDetection, Owlv2Processor
    from transformers.models.owlv2.image_processing_pil_owlv2 import Owlv2ImageProcessorPil

    folder.mkdir(parents=True, exist_ok=True)
    letters = "abcdefghijklmnopqrstuvwxyz"
    # id 0 must not start a query: OWLv2 takes a query whose first id is 0 for padding
    vocab = {"!": 0, "<|startoftext|>": 1, "<|endoftext|>": 2, **{c: 3 + i for i, c in enumerate(letters)},
             **{c + "</w>": 29 + i for i, c in enumerate(letters)}}
    tokenizer = CLIPTokenizer(vocab=vocab, merges=[], pad_token="<|endoftext|>")
    torch.manual_seed(0)
    config = Owlv2Config(
        text_config={"vocab_size": len(vocab), "hidden_size": 32, "num_hidden_layers": 1, "num_attention_heads": 2,
                     "intermediate_size": 32, "max_position_embeddings": 16, "bos_token_id": 1, "eos_token_id": 2},
        vision_config={"hidden_size": 32, "num_hidden_layers": 1, "num_attention_heads": 2, "intermediate_size": 32,
                       "image_size": 64, "patch_size": 16},
        projection_dim=32, initializer_factor=0.1)  # full-scale random weights saturate the box head
    Owlv2ForObjectDetection(config).save_pretrained(folder)
    Owlv2Processor(image_processor=Owlv2ImageProcessorPil(size={"height": 64, "width": 64}),
                   tokenizer=tokenizer).save_pretrained(folder)
    return folder


def florence2(folder: Path) -> Path:
    import torch
    from transformers import (
        BartConfig,
        BartTokenizer,
        Florence2Config,
        Florence2ForConditionalGeneration,
        Florence2Processor,
    )
    from transformers.models.clip.image_processing_pil_clip import CLIPImageProcessorPil

    folder.mkdir(parents=True, exist_ok=True)
    vocab = {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3, **{c: 4 + i for i, c in enumerate("abcdefghijklmnop")},
             "<image>": 20}
    tokenizer = BartTokenizer(vocab=vocab, merges=[], extra_special_tokens={"image_token": "<image>"})
    tokenizer.add_tokens([f"<loc_{i}>" for i in range(1000)], special_tokens=True)  # Florence-2's box tokens
    images = CLIPImageProcessorPil(size={"height": 64, "width": 64}, crop_size={"height": 64, "width": 64},
                                   do_center_crop=False)
    images.image_seq_length = 5
    Florence2Processor(image_processor=images, tokenizer=tokenizer,
                       post_processor_config={"phrase_grounding": {"banned_grounding_tokens": []}}
                       ).save_pretrained(folder)
    text = BartConfig(vocab_size=len(tokenizer), d_model=32, encoder_layers=1, decoder_layers=1,
                      encoder_attention_heads=2, decoder_attention_heads=2, encoder_ffn_dim=32, decoder_ffn_dim=32,
                      max_position_embeddings=128, pad_token_id=1, bos_token_id=0, eos_token_id=2,
                      decoder_start_token_id=2)
    vision = {"depths": [1, 1, 1, 1], "embed_dim": [16, 32, 32, 32], "num_heads": [1, 2, 2, 2],
              "num_groups": [1, 2, 2, 2], "window_size": 2, "projection_dim": 32, "drop_path_rate": 0.0}
    torch.manual_seed(0)
    Florence2ForConditionalGeneration(Florence2Config(text_config=text.to_dict(), vision_config=vision,
                                                      image_token_id=tokenizer.image_token_id)).save_pretrained(folder)
    return folder


def test_calibration_maps_each_backend_threshold_to_one_half() -> None:
    assert calibrate(0.1, 0.1) == 0.5 and calibrate(0.35, 0.35) == 0.5
    assert calibrate(1.0, 0.1) == 1.0 and calibrate(0.0, 0.35) == 0.0
    assert calibrate(0.05, 0.1) < 0.5 < calibrate(0.2, 0.1)
    assert calibrate(0.3, 0.1) > calibrate(0.2, 0.1)  # order is kept


@pytest.mark.parametrize(("name", "build"), [("owlv2", owlv2), ("grounding-dino", grounding_dino),
                                             ("florence-2", florence2)])
def test_tiny_grounders_run_batched_on_real_photos(name: str, build, tmp_path: Path, data_dir: Path) -> None:
    folder = build(tmp_path / name)
    # threshold 0: a random model's boxes all count, so the box path is exercised
    grounder = create_grounder(name, model=str(folder), device="cpu", batch_size=2, threshold=0.0)
    photo = load_image(str(data_dir / "messi5.jpg"))
    tall = np.ascontiguousarray(photo[:, :200])
    found = grounder.ground([photo, tall, photo], "ball")
    assert len(found) == 3
    for image, boxes in zip([photo, tall, photo], found):
        h, w = image.shape[:2]
        for box, score in boxes:
            assert 0 <= box[0] < box[2] <= w and 0 <= box[1] < box[3] <= h and 0.5 <= score <= 1.0
    if name != "florence-2":  # a random Florence-2 generates no box tokens: its parser is tested below
        assert all(found)
    if name == "owlv2":  # each image padded on its own: the same answer in another batch
        assert found[0] == found[2]
    # (Grounding DINO pads a batch to its largest image, which changes a random model's top
    # queries; a trained one's confident boxes survive that, a random one's do not)
    assert grounder.version.startswith(f"{name}-{name}-") and grounder.ground([], "ball") == []


def test_florence2_boxes_come_from_location_tokens(tmp_path: Path) -> None:
    grounder = create_grounder("florence-2", model=str(florence2(tmp_path / "f2")), device="cpu")
    processor = grounder.parts[0]  # type: ignore[attr-defined]
    found = grounder.parse(processor, "</s><s>ball<loc_100><loc_200><loc_300><loc_400></s>", (342, 548))  # type: ignore[attr-defined]
    assert len(found) == 1 and found[0][1] == 1.0
    assert found[0][0] == pytest.approx([54.9, 68.5, 164.6, 137.0], abs=1.0)  # 1000 bins over 548 x 342


def test_a_grounder_refuses_another_kind_of_model(tmp_path: Path, data_dir: Path) -> None:
    folder = grounding_dino(tmp_path / "gd")
    with pytest.raises(BackendError, match="holds a grounding-dino model"):
        create_grounder("owlv2", model=str(folder), device="cpu").ground([load_image(str(data_dir / "messi5.jpg"))],
                                                                         "ball")
    with pytest.raises(BackendError, match="needs a model"):
        create_grounder("owlv2")


def find(db: str, query: str, *extra: str) -> dict:
    result = runner.invoke(app, ["find", query, "--db", db, "--json", *extra])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_find_grounds_only_what_the_cheap_constraints_leave_and_caches_it(tmp_path: Path, data_dir: Path) -> None:
    media = tmp_path / "media"
    media.mkdir()
    for name in ("messi5.jpg", "obama3.jpg", "biden.jpg", "vtest_4s.mp4"):
        shutil.copy(data_dir / name, media / name)
    db = str(tmp_path / "db")
    assert runner.invoke(app, ["index", str(media), "--db", db]).exit_code == 0
    model = str(owlv2(tmp_path / "owl"))
    with_grounder = ("--grounder", "owlv2", "--grounder-model", model, "--device", "cpu")
    first = find(db, "the person holding a ball", *with_grounder)
    assert first["unsupported"] == [] and first["frames_grounded"] > 0
    again = find(db, "the person holding a ball", *with_grounder)
    assert again["frames_grounded"] == 0 and again["hits"] == first["hits"]  # from the cache
    # nobody wears yellow: no frame is worth grounding
    assert find(db, "the person in yellow holding a ball", *with_grounder)["frames_grounded"] == 0
    # a new phrase is grounded once; photos and keyframes only (3 photos + the video's keyframes)
    phone = find(db, "the person holding a phone", *with_grounder)
    assert 3 <= phone["frames_grounded"] <= first["frames_grounded"]
    without = find(db, "the person holding a ball", "--grounder", "none")
    assert without["hits"] == [] and "--grounder" in without["unsupported"][0]
    assert find(db, "the person holding a ball")["unsupported"] == []  # the embedded COCO grounder
