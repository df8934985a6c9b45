"""Person detectors from transformers, loaded from a local folder, batched.

Closed-set COCO detectors (DETR, RT-DETR, ...) keep the boxes of their "person" class;
open-set ones (Grounding DINO, OWLv2) are prompted with "person". Either way only boxes at or
above ``threshold`` are candidates. Image processors are transformers' PIL ones (no
torchvision in refcli's core install).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from functools import cached_property
from typing import Any, ClassVar

import numpy as np

from refcli.detect import Detector, Image
from refcli.detections import Detections
from refcli.devices import default_batch_size, run_in_batches
from refcli.errors import BackendError
from refcli.io.image import to_pil
from refcli.models import LocalModel

ZERO_SHOT = {"grounding-dino", "mm-grounding-dino", "owlv2", "owlvit"}


class HFDetector(LocalModel, Detector):
    """A transformers object detector.

    Args:
        threads: CPU threads for torch.
        model: model folder or a name `refcli models pull` installed [default: $REFCLI_DETECTOR_MODEL].
        threshold: candidate floor (the detector's own score scale).
        device: "auto", "cpu", "cuda", "cuda:N", "mps".
        batch_size: images per forward pass [default: 8 on GPU, 2 on CPU]; halved on out-of-memory.
        prompt: the text for open-set detectors.
    """

    name: ClassVar[str] = "hf"

    def __init__(self, threads: int | None = None, model: str | None = None, threshold: float = 0.3,
                 device: str = "auto", batch_size: int | None = None, prompt: str = "person.") -> None:
        self.threads, self.threshold, self.device_name = threads, threshold, device
        self.batch_size, self.prompt = batch_size, prompt
        self.model_name = model or os.environ.get("REFCLI_DETECTOR_MODEL")
        if not self.model_name:
            raise BackendError("the hf detector needs a model: --detector-model FOLDER or a name from "
                               "`refcli models list`")

    @property
    def version(self) -> str:
        return f"hf-{self.folder_id()}-min{self.threshold:g}"

    @cached_property
    def _parts(self) -> tuple[Any, Any, str, int | None]:
        import torch
        from transformers import (
            AutoConfig,
            AutoImageProcessor,
            AutoModelForObjectDetection,
            AutoModelForZeroShotObjectDetection,
            AutoProcessor,
        )

        if self.threads and self.device == "cpu":
            torch.set_num_threads(self.threads)
        config = AutoConfig.from_pretrained(self.path)
        kind = config.model_type
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if kind in ZERO_SHOT:
                processor = AutoProcessor.from_pretrained(self.path)
                model: Any = AutoModelForZeroShotObjectDetection.from_pretrained(self.path)
                person = None
            else:
                processor = AutoImageProcessor.from_pretrained(self.path)
                model = AutoModelForObjectDetection.from_pretrained(self.path)
                labels = {str(v).lower(): int(k) for k, v in (config.id2label or {}).items()}
                if "person" not in labels:
                    raise BackendError(f"{self.path}: the model has no 'person' class (labels: "
                                       f"{', '.join(sorted(labels)[:10])}...)")
                person = labels["person"]
        model.to(self.device).eval()
        return processor, model, kind, person

    def detect(self, images: Sequence[Image]) -> list[Detections]:
        if not images:
            return []
        return run_in_batches(self._detect_batch, list(images), self.batch_size or
                              default_batch_size(self.device, cpu=2))

    def _detect_batch(self, images: Sequence[Image]) -> list[Detections]:
        import torch
        processor, model, kind, person = self._parts
        pictures = to_pil(images)
        sizes = [(image.shape[0], image.shape[1]) for image in images]
        with torch.inference_mode():
            if kind in ZERO_SHOT:
                inputs = processor(images=pictures, text=[self.prompt] * len(pictures), return_tensors="pt",
                                   padding=True).to(self.device)
                outputs = model(**inputs)
                if kind in ("owlv2", "owlvit"):
                    results = processor.post_process_grounded_object_detection(
                        outputs, threshold=self.threshold, target_sizes=sizes)
                else:
                    results = processor.post_process_grounded_object_detection(
                        outputs, inputs["input_ids"], threshold=self.threshold, text_threshold=self.threshold,
                        target_sizes=sizes)
            else:
                inputs = processor(images=pictures, return_tensors="pt").to(self.device)
                outputs = model(**inputs)
                results = processor.post_process_object_detection(outputs, threshold=self.threshold,
                                                                  target_sizes=sizes)
        out = []
        for result, (h, w) in zip(results, sizes):
            boxes = result["boxes"].float().cpu().numpy().reshape(-1, 4)
            scores = result["scores"].float().cpu().numpy()
            if person is not None:
                keep = result["labels"].cpu().numpy() == person
                boxes, scores = boxes[keep], scores[keep]
            boxes = np.clip(boxes, 0, [w, h, w, h])
            valid = (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])
            out.append(Detections(xyxy=boxes[valid].astype(np.float32), confidence=scores[valid].astype(np.float32)))
        return out
