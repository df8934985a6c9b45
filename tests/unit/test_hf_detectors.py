"""transformers detectors from a local folder: tiny random models built from configs run the real
loading, preprocessing, batching and post-processing code (their boxes are noise, their shapes not)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from refcli.cli.app import app
from refcli.detect import create_detector
from refcli.errors import BackendError
from refcli.io.image import load_image

TINY_RESNET = dict(embedding_size=8, hidden_sizes=[8, 16, 32, 64], depths=[1, 1, 1, 1])


def detr(folder: Path, person_label: str = "person") -> Path:
    import torch
    from transformers import DetrConfig, DetrForObjectDetection, ResNetConfig
    from transformers.models.detr.image_processing_pil_detr import DetrImageProcessorPil

    torch.manual_seed(0)
    config = DetrConfig(use_timm_backbone=False, use_pretrained_backbone=False,
                        backbone_config=ResNetConfig(**TINY_RESNET, out_features=["stage4"]), d_model=32,
                        encoder_layers=1, decoder_layers=1, encoder_attention_heads=2, decoder_attention_heads=2,
                        encoder_ffn_dim=32, decoder_ffn_dim=32, num_queries=20,
                        id2label={0: person_label}, label2id={person_label: 0})  # one class: every query a person
    DetrForObjectDetection(config).save_pretrained(folder)
    DetrImageProcessorPil(size={"shortest_edge": 200, "longest_edge": 320}).save_pretrained(folder)
    return folder


def rt_detr(folder: Path) -> Path:
    import torch
    from transformers import RTDetrConfig, RTDetrForObjectDetection
    from transformers.models.rt_detr.image_processing_pil_rt_detr import RTDetrImageProcessorPil

    torch.manual_seed(0)
    config = RTDetrConfig(
        backbone_config={"model_type": "rt_detr_resnet", **TINY_RESNET, "out_features": ["stage2", "stage3", "stage4"]},
        encoder_in_channels=[16, 32, 64], encoder_hidden_dim=32, encoder_ffn_dim=32, d_model=32, decoder_layers=1,
        decoder_ffn_dim=32, num_queries=20, num_feature_levels=3, decoder_in_channels=[32, 32, 32], num_labels=2,
        id2label={0: "person", 1: "car"}, label2id={"person": 0, "car": 1})
    RTDetrForObjectDetection(config).save_pretrained(folder)
    RTDetrImageProcessorPil(size={"height": 320, "width": 320}).save_pretrained(folder)
    return folder


def grounding_dino(folder: Path) -> Path:
    import torch
    from transformers import (
        BertConfig,
        BertTokenizerFast,
        GroundingDinoConfig,
        GroundingDinoForObjectDetection,
        ResNetConfig,
    )
    from transformers.models.grounding_dino.image_processing_pil_grounding_dino import (
        GroundingDinoImageProcessorPil,
    )
    from transformers.models.grounding_dino.processing_grounding_dino import GroundingDinoProcessor

    torch.manual_seed(0)
    folder.mkdir(parents=True, exist_ok=True)
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", ".", "person"] + list("abcdefghijklmnopqrstuvwxyz")
    (folder / "vocab.txt").write_text("\n".join(vocab))
    config = GroundingDinoConfig(
        backbone_config=ResNetConfig(**TINY_RESNET, out_features=["stage2", "stage3", "stage4"]),
        use_timm_backbone=False, use_pretrained_backbone=False,
        text_config=BertConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                               intermediate_size=32),
        d_model=32, encoder_layers=1, decoder_layers=2, encoder_attention_heads=2, decoder_attention_heads=2,
        encoder_ffn_dim=32, decoder_ffn_dim=32, num_queries=20, num_feature_levels=3, max_text_len=16,
        encoder_n_points=2, decoder_n_points=2)
    GroundingDinoForObjectDetection(config).save_pretrained(folder)
    GroundingDinoProcessor(image_processor=GroundingDinoImageProcessorPil(size={"shortest_edge": 200,
                                                                                "longest_edge": 320}),
                           tokenizer=BertTokenizerFast(vocab_file=str(folder / "vocab.txt"))).save_pretrained(folder)
    return folder


@pytest.mark.parametrize("build", [detr, rt_detr, grounding_dino], ids=["detr", "rt-detr", "grounding-dino"])
def test_tiny_detectors_run_batched_and_give_boxes_in_image_pixels(build, tmp_path: Path, data_dir: Path) -> None:
    folder = build(tmp_path / "model")
    detector = create_detector("hf", threads=1, model=str(folder), threshold=0.0, device="cpu", batch_size=2)
    photo = load_image(str(data_dir / "messi5.jpg"))
    wide = np.ascontiguousarray(np.concatenate([photo, photo], axis=1))
    results = detector.detect([photo, wide, photo])
    assert len(results) == 3
    for image, dets in zip([photo, wide, photo], results):
        h, w = image.shape[:2]
        assert len(dets) > 0 and dets.xyxy.shape[1] == 4
        assert (dets.xyxy[:, 0] >= 0).all() and (dets.xyxy[:, 2] <= w).all() and (dets.xyxy[:, 3] <= h).all()
    assert detector.version.startswith("hf-model-") and detector.detect([]) == []


def test_threshold_and_person_class(tmp_path: Path, data_dir: Path) -> None:
    photo = load_image(str(data_dir / "messi5.jpg"))
    strict = create_detector("hf", model=str(detr(tmp_path / "m")), threshold=0.999, device="cpu")
    assert all(d.confidence.min(initial=1.0) >= 0.999 for d in strict.detect([photo]))
    no_person = create_detector("hf", model=str(detr(tmp_path / "cats", person_label="cat")), device="cpu")
    with pytest.raises(BackendError, match="no 'person' class"):
        no_person.detect([photo])


def test_index_with_a_transformers_detector(tmp_path: Path, data_dir: Path) -> None:
    media = tmp_path / "media"
    media.mkdir()
    shutil.copy(data_dir / "messi5.jpg", media)
    folder = rt_detr(tmp_path / "rt")
    result = CliRunner().invoke(app, ["index", str(media), "--db", str(tmp_path / "db"), "--detector", "hf",
                                      "--detector-model", str(folder), "--device", "cpu", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["new"] == 1
    from refcli.store import Store

    (record,) = Store.open(str(tmp_path / "db")).contents.media().values()
    assert '"detector": "hf-rt-' in record.signature  # a different detector is a different pipeline
