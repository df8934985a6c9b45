"""Object grounders from transformers, loaded from a local folder (`refcli models pull` puts
known ones there), batched, on the device asked for; out of memory halves the batch.

- OWLv2 (``owlv2``): text-queried detection; its processor pads images to a square, so boxes
  are scaled back with the padded size. Threshold 0.1 (the model card's example).
- Grounding DINO and MM-Grounding-DINO (``grounding-dino``): the phrase as a lower-case,
  dot-ended prompt; box threshold 0.35 and text threshold 0.25 (the authors' defaults).
- Florence-2 (``florence-2``): caption-to-phrase grounding by generation; it gives boxes, not
  scores, so a found box scores 1.0.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from functools import cached_property
from typing import Any, ClassVar

import numpy as np

from refcli.devices import default_batch_size, run_in_batches
from refcli.errors import BackendError
from refcli.ground import Found, Grounder, Image, calibrate
from refcli.io.image import to_pil
from refcli.models import LocalModel


class _HFGrounder(LocalModel, Grounder):
    """What the transformers grounders share: a model folder, a device, batches."""

    threshold: ClassVar[float] = 0.3
    model_types: ClassVar[tuple[str, ...]] = ()

    def __init__(self, model: str | None = None, device: str = "auto", batch_size: int | None = None,
                 threads: int | None = None, threshold: float | None = None) -> None:
        if threshold is not None:
            self.threshold = threshold  # type: ignore[misc]  # the caller's calibration point
        self.model_name = model or os.environ.get("REFCLI_GROUNDER_MODEL")
        if not self.model_name:
            raise BackendError(f"the {self.name} grounder needs a model: --grounder-model FOLDER or a name from "
                               "`refcli models list`")
        self.device_name, self.batch_size, self.threads = device, batch_size, threads

    @property
    def version(self) -> str:
        return f"{self.name}-{self.folder_id()}-t{self.threshold:g}"

    @cached_property
    def parts(self) -> tuple[Any, Any]:
        import torch
        from transformers import AutoConfig

        if self.threads and self.device == "cpu":
            torch.set_num_threads(self.threads)
        kind = AutoConfig.from_pretrained(self.path).model_type
        if kind not in self.model_types:
            raise BackendError(f"{self.path} holds a {kind} model; the {self.name} grounder takes "
                               f"{' or '.join(self.model_types)}")
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # "Loading weights" bars on every query are noise
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            processor, model = self._load()
        model.to(self.device).eval()
        return processor, model

    def _load(self) -> tuple[Any, Any]:
        """Processor and model; the zero-shot detectors (OWLv2, Grounding DINO) load alike."""
        from transformers import AutoModelForZeroShotObjectDetection, AutoProcessor

        return AutoProcessor.from_pretrained(self.path), AutoModelForZeroShotObjectDetection.from_pretrained(self.path)

    def ground(self, images: Sequence[Image], phrase: str) -> list[Found]:
        if not images:
            return []
        size = self.batch_size or default_batch_size(self.device, cpu=2)
        return run_in_batches(lambda batch: self._ground_batch(batch, phrase), list(images), size)

    def _ground_batch(self, images: Sequence[Image], phrase: str) -> list[Found]:
        raise NotImplementedError

    def _found(self, boxes: Any, scores: Any, size: tuple[int, int]) -> Found:
        """Boxes clipped to the image, scores calibrated, those under 0.5 dropped."""
        h, w = size
        boxes = np.clip(np.asarray(boxes, np.float32).reshape(-1, 4), 0, [w, h, w, h])
        out = []
        for box, raw in zip(boxes.tolist(), np.asarray(scores, np.float32).reshape(-1).tolist()):
            score = calibrate(raw, self.threshold)
            if score >= 0.5 and box[2] > box[0] and box[3] > box[1]:
                out.append(([round(v, 1) for v in box], round(score, 4)))
        return out


class OWLv2Grounder(_HFGrounder):
    name: ClassVar[str] = "owlv2"
    threshold: ClassVar[float] = 0.1
    model_types = ("owlv2", "owlvit")

    def _ground_batch(self, images: Sequence[Image], phrase: str) -> list[Found]:
        import torch

        processor, model = self.parts
        with torch.inference_mode():
            inputs = processor(text=[[phrase]] * len(images), images=to_pil(images), return_tensors="pt")
            outputs = model(**inputs.to(self.device))
            # OWLv2 pads to a square (bottom and right): boxes are relative to the padded image.
            squares = [(max(image.shape[:2]),) * 2 for image in images]
            results = processor.post_process_grounded_object_detection(
                outputs, threshold=self.threshold * 0.5, target_sizes=squares)
        return [self._found(r["boxes"].float().cpu().numpy(), r["scores"].float().cpu().numpy(), image.shape[:2])
                for r, image in zip(results, images)]


class GroundingDinoGrounder(_HFGrounder):
    name: ClassVar[str] = "grounding-dino"
    threshold: ClassVar[float] = 0.35
    text_threshold: ClassVar[float] = 0.25
    model_types = ("grounding-dino", "mm-grounding-dino")

    def _ground_batch(self, images: Sequence[Image], phrase: str) -> list[Found]:
        import torch

        processor, model = self.parts
        prompt = phrase.lower().strip().rstrip(".") + "."
        sizes = [image.shape[:2] for image in images]
        with torch.inference_mode():
            inputs = processor(images=to_pil(images), text=[prompt] * len(images), return_tensors="pt",
                               padding=True).to(self.device)
            outputs = model(**inputs)
            results = processor.post_process_grounded_object_detection(
                outputs, inputs["input_ids"], threshold=self.threshold * 0.5, text_threshold=self.text_threshold,
                target_sizes=sizes)
        return [self._found(r["boxes"].float().cpu().numpy(), r["scores"].float().cpu().numpy(), size)
                for r, size in zip(results, sizes)]


class Florence2Grounder(_HFGrounder):
    name: ClassVar[str] = "florence-2"
    threshold: ClassVar[float] = 0.5
    model_types = ("florence2",)
    task = "<CAPTION_TO_PHRASE_GROUNDING>"

    def _load(self) -> tuple[Any, Any]:
        from transformers import AutoProcessor, Florence2ForConditionalGeneration

        return AutoProcessor.from_pretrained(self.path), Florence2ForConditionalGeneration.from_pretrained(self.path)

    def _ground_batch(self, images: Sequence[Image], phrase: str) -> list[Found]:
        import torch

        processor, model = self.parts
        with torch.inference_mode():
            inputs = processor(text=[self.task + phrase] * len(images), images=to_pil(images),
                               return_tensors="pt", padding=True).to(self.device)
            generated = model.generate(input_ids=inputs["input_ids"], pixel_values=inputs["pixel_values"],
                                       max_new_tokens=128, num_beams=1, do_sample=False)
        texts = processor.batch_decode(generated, skip_special_tokens=False)
        return [self.parse(processor, text, image.shape[:2]) for text, image in zip(texts, images)]

    def parse(self, processor: Any, text: str, size: tuple[int, int]) -> Found:
        """Boxes from Florence-2's generated text (``phrase<loc_x1><loc_y1><loc_x2><loc_y2>...``)."""
        h, w = size
        parsed = processor.post_process_generation(text=text, task=self.task, image_size=(w, h))[self.task]
        boxes = parsed.get("bboxes") or []
        return self._found(boxes, [1.0] * len(boxes), size)
