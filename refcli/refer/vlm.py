"""The `vlm` referrer: a Qwen2.5-VL-family model picks the matching candidates.

Two ways to show it the candidates:

- ``rex-thinker`` (default): Rex-Thinker's own prompt, as in its HumanRef evaluation
  (IDEA-Research/Rex-Thinker ``evaluation/eval.py``): its system prompt, then
  ``Hint: {"person": [[x0, y0, x1, y1], ...]}`` with the boxes in the pixels of the image as the
  model sees it (Qwen's ``smart_resize``, 256..1280 x 28 x 28 pixels), then ``Locate <expression>
  in the image and answer the question in json format.`` It reasons in ``<think>`` and answers
  boxes in ``<answer>``; each answered box is mapped back to the candidate it overlaps most.
- ``marks``: candidates are drawn on the image as numbered boxes and the model answers numbers;
  works with any instruction-following Qwen2.5-VL.

Malformed answers (no ``<answer>`` tag, numbers out of range, repeats, boxes matching no
candidate) give a warning and no hit for that part, never a crash. More than ``max_candidates``
candidates are split into overlapping groups (refcli/refer/groups.py).

Images are prepared with transformers' PIL image processor and the chat template, not the
Qwen processor class, which needs torchvision (refcli keeps it out of the core install).
"""

from __future__ import annotations

import json
import os
import re
import warnings
from collections.abc import Sequence
from functools import cached_property
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from refcli.detections import box_iou
from refcli.devices import default_batch_size, dtype_for, run_in_batches
from refcli.errors import BackendError
from refcli.models import LocalModel
from refcli.refer import ReferRequest, Referrer, ReferResult
from refcli.refer.groups import refer_in_groups

THINK_PROMPT = (
    "A conversation between User and Assistant. The user asks a question, and the Assistant solves it. The "
    "assistant first thinks about the reasoning process in the mind and then provides the user with the answer. "
    "The reasoning process and answer are enclosed within <think> </think> and <answer> </answer> tags, "
    "respectively, i.e., <think> reasoning process here </think><answer> answer here </answer>.")
REX_QUESTION = "Hint: {hint}\nLocate {expression} in the image and answer the question in json format."
MARKS_QUESTION = (
    'The people in this image are marked with the numbers 1 to {n}. Which of them match: "{expression}"? '
    "Answer with their numbers inside <answer></answer>, for example <answer>[2, 5]</answer>, or "
    "<answer>None</answer> if nobody matches.")
PROMPTS = ("rex-thinker", "marks")
REX_MIN_PIXELS, REX_MAX_PIXELS = 256 * 28 * 28, 1280 * 28 * 28
_ANSWER = re.compile(r"<answer>(.*?)</answer>", re.S)
_BOX = re.compile(r"\[\s*(-?[0-9.]+)\s*,\s*(-?[0-9.]+)\s*,\s*(-?[0-9.]+)\s*,\s*(-?[0-9.]+)\s*\]")


def resized_size(width: int, height: int, min_pixels: int, max_pixels: int) -> tuple[int, int]:
    """(width, height) of the image as Qwen2.5-VL sees it (its smart_resize, factor 28)."""
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import smart_resize

    h, w = smart_resize(height, width, factor=28, min_pixels=min_pixels, max_pixels=max_pixels)
    return int(w), int(h)


def to_model_boxes(boxes: npt.NDArray[np.float32], size: tuple[int, int],
                   model_size: tuple[int, int]) -> list[list[int]]:
    """Candidate boxes in the model's pixels, as Rex-Thinker's convert_boxes_from_absolute_to_qwen25_format."""
    (w, h), (rw, rh) = size, model_size
    out = []
    for x0, y0, x1, y1 in boxes.tolist():
        out.append([max(0, min(int(x0 / w * rw), rw - 1)), max(0, min(int(y0 / h * rh), rh - 1)),
                    max(0, min(int(x1 / w * rw), rw - 1)), max(0, min(int(y1 / h * rh), rh - 1))])
    return out


def answer_part(text: str) -> tuple[str | None, list[str]]:
    """The text inside the last <answer>...</answer>, or None with a warning."""
    found = _ANSWER.findall(text)
    if not found:
        return None, [f"no <answer> in the model's output: {text.strip()[:80]!r}"]
    return found[-1].strip(), []


def parse_rex_thinker(text: str, candidates: list[list[int]]) -> tuple[list[int], list[str]]:
    """Candidate indexes for the boxes a Rex-Thinker answer names (best IoU >= 0.5)."""
    answer, notes = answer_part(text)
    if answer is None or answer.lower().startswith("none"):
        return [], notes
    chosen: list[int] = []
    for match in _BOX.findall(answer):
        box = [float(v) for v in match]
        overlaps = [box_iou(box, c) for c in candidates]
        best = int(np.argmax(overlaps)) if overlaps else -1
        if best < 0 or overlaps[best] < 0.5:
            notes.append(f"answered box {box} matches no candidate")
        elif best not in chosen:
            chosen.append(best)
    return sorted(chosen), notes


def parse_marks(text: str, n: int) -> tuple[list[int], list[str]]:
    """0-based candidate indexes for the numbers (1..n) in the answer."""
    answer, notes = answer_part(text)
    if answer is None or answer.lower().startswith("none"):
        return [], notes
    chosen: list[int] = []
    for word in re.findall(r"-?\d+", answer):
        number = int(word)
        if not 1 <= number <= n:
            notes.append(f"answered number {number} is not a candidate (1 to {n})")
        elif number - 1 not in chosen:
            chosen.append(number - 1)
    return sorted(chosen), notes


def draw_marks(image: npt.NDArray[np.uint8], boxes: npt.NDArray[np.float32]) -> Any:
    from PIL import Image, ImageDraw

    picture = Image.fromarray(image).convert("RGB")
    draw = ImageDraw.Draw(picture)
    width = max(2, round(max(picture.size) / 300))
    for i, (x0, y0, x1, y1) in enumerate(boxes.tolist(), 1):
        draw.rectangle([x0, y0, x1, y1], outline=(255, 0, 0), width=width)
        label = str(i)
        tx, ty = x0 + width, max(0, y0 - 12)
        draw.rectangle([tx - 1, ty - 1, tx + 7 * len(label) + 2, ty + 11], fill=(255, 0, 0))
        draw.text((tx, ty), label, fill=(255, 255, 255))
    return picture


class VLMReferrer(LocalModel, Referrer):
    """A Qwen2.5-VL-family model from a local folder (or a name `refcli models pull` installed).

    Args:
        model: model folder or known name [default: $REFCLI_VLM_MODEL, else rex-thinker-7b].
        prompt: "rex-thinker" (boxes as text) or "marks" (numbered boxes drawn on the image).
        device: "auto", "cpu", "cuda", "cuda:1", "mps".
        batch_size: requests per generate call [default: 8 on GPU, 1 on CPU]; halved on OOM.
        max_new_tokens: answer length limit (Rex-Thinker reasons before answering).
        max_candidates: more candidates than this are split into overlapping groups.
    """

    name: ClassVar[str] = "vlm"
    needs_image: ClassVar[bool] = True

    def __init__(self, model: str | None = None, prompt: str = "rex-thinker", device: str = "auto",
                 batch_size: int | None = None, max_new_tokens: int = 1024, min_pixels: int | None = None,
                 max_pixels: int | None = None, max_candidates: int = 100) -> None:
        if prompt not in PROMPTS:
            raise BackendError(f"unknown vlm prompt {prompt!r}; choose one of {', '.join(PROMPTS)}")
        self.model_name = model or os.environ.get("REFCLI_VLM_MODEL") or "rex-thinker-7b"
        self.prompt, self.device_name, self.batch_size = prompt, device, batch_size
        self.max_new_tokens, self.min_pixels, self.max_pixels = max_new_tokens, min_pixels, max_pixels
        self.max_candidates = max_candidates

    @property
    def cache_id(self) -> str:
        return f"vlm:{self.folder_id(10, ':')}:{self.prompt}:{self.max_pixels or 0}"

    @cached_property
    def _parts(self) -> tuple[Any, Any, Any, str]:
        try:
            import torch  # noqa: F401
            from transformers import AutoModelForImageTextToText, AutoTokenizer
            from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil
        except ImportError as err:
            raise BackendError(f"the vlm backend needs torch and transformers: {err}") from None
        tokenizer = AutoTokenizer.from_pretrained(self.path)
        tokenizer.padding_side = "left"  # generation continues from the right end
        template = tokenizer.chat_template or _template_file(self.path)
        if not template:
            raise BackendError(f"{self.path} has no chat template")
        processor = Qwen2VLImageProcessorPil.from_pretrained(self.path)
        # Image size in pixels: as asked, else the model folder's own, capped for Rex-Thinker at
        # what its HumanRef evaluation used (256..1280 x 28 x 28).
        size = processor.size
        low = self.min_pixels or getattr(size, "shortest_edge", None) or 56 * 56
        high = self.max_pixels or getattr(size, "longest_edge", None) or 28 * 28 * 1280
        if self.prompt == "rex-thinker" and not self.max_pixels:
            low, high = min(low, REX_MAX_PIXELS), min(high, REX_MAX_PIXELS)
            low = max(low, min(REX_MIN_PIXELS, high))
        self.min_pixels, self.max_pixels = int(low), int(high)
        processor = Qwen2VLImageProcessorPil.from_pretrained(
            self.path, size={"shortest_edge": self.min_pixels, "longest_edge": self.max_pixels})
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model: Any = AutoModelForImageTextToText.from_pretrained(self.path, dtype=dtype_for(self.device))
        model.to(self.device).eval()
        return tokenizer, processor, model, template

    # -- building inputs (shared with training in the tests) -----------------------------------

    def messages(self, request: ReferRequest) -> tuple[list[dict[str, Any]], Any, list[list[int]]]:
        """Chat messages, the PIL image to send, and the candidates in the model's pixels."""
        from PIL import Image

        if request.image is None:
            raise BackendError("the vlm backend needs the image of each frame")
        self._parts  # noqa: B018 - loads the processor, which settles the image size
        assert self.min_pixels is not None and self.max_pixels is not None
        h, w = request.image.shape[:2]
        size = (w, h)
        model_boxes = to_model_boxes(_scaled(request), size, resized_size(w, h, self.min_pixels, self.max_pixels))
        if self.prompt == "rex-thinker":
            text = REX_QUESTION.format(hint=json.dumps({"person": model_boxes}), expression=request.expression)
            picture = Image.fromarray(request.image).convert("RGB")
            system: list[dict[str, Any]] = [{"role": "system", "content": THINK_PROMPT}]
        else:
            text = MARKS_QUESTION.format(n=len(request.boxes), expression=request.expression)
            picture = draw_marks(request.image, _scaled(request))
            system = []
        user = {"role": "user", "content": [{"type": "image"}, {"type": "text", "text": text}]}
        return [*system, user], picture, model_boxes

    def encode(self, requests: Sequence[ReferRequest], answers: Sequence[str] | None = None) -> Any:
        """Model inputs for a batch (prompts left-padded); with ``answers`` appended, for training."""
        tokenizer, processor, _, template = self._parts
        built = [self.messages(r) for r in requests]
        pixels = processor(images=[picture for _, picture, _ in built], return_tensors="pt")
        merge = 4  # 2x2 patches become one image token (spatial_merge_size 2)
        texts = []
        for k, (messages, _, _) in enumerate(built):
            text = tokenizer.apply_chat_template(messages, chat_template=template, tokenize=False,
                                                 add_generation_prompt=True)
            n = int(pixels["image_grid_thw"][k].prod()) // merge
            text = text.replace("<|image_pad|>", "<|image_pad|>" * n, 1)
            if answers is not None:
                text += answers[k] + (tokenizer.eos_token or "")
            texts.append(text)
        encoded = tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False)
        encoded["pixel_values"] = pixels["pixel_values"]
        encoded["image_grid_thw"] = pixels["image_grid_thw"]
        return encoded, [boxes for _, _, boxes in built]

    # -- referring ------------------------------------------------------------------------------

    def refer(self, requests: Sequence[ReferRequest]) -> list[ReferResult]:
        return refer_in_groups(self._refer_direct, requests, self.max_candidates)

    def _refer_direct(self, requests: Sequence[ReferRequest]) -> list[ReferResult]:
        out: list[ReferResult | None] = [None] * len(requests)
        todo = [i for i, r in enumerate(requests) if len(r.boxes)]
        for i, r in enumerate(requests):
            if not len(r.boxes):
                out[i] = ReferResult()
        answers = run_in_batches(lambda batch: self.generate([requests[i] for i in batch]), todo,
                                 self.batch_size or default_batch_size(self.device))
        for i, (text, model_boxes) in zip(todo, answers):
            request = requests[i]
            if self.prompt == "rex-thinker":
                chosen, notes = parse_rex_thinker(text, model_boxes)
            else:
                chosen, notes = parse_marks(text, len(request.boxes))
            out[i] = ReferResult(indexes=tuple(chosen), scores=tuple(float(request.scores[c]) for c in chosen),
                                 warnings=tuple(notes))
        return [r if r is not None else ReferResult() for r in out]

    def generate(self, requests: Sequence[ReferRequest]) -> list[tuple[str, list[list[int]]]]:
        import torch

        tokenizer, _, model, _ = self._parts
        encoded, boxes = self.encode(requests)
        encoded = {k: v.to(self.device) for k, v in encoded.items()}
        encoded["pixel_values"] = encoded["pixel_values"].to(model.dtype)
        with torch.inference_mode():
            output = model.generate(**encoded, max_new_tokens=self.max_new_tokens, do_sample=False)
        new = output[:, encoded["input_ids"].shape[1]:]
        texts = tokenizer.batch_decode(new, skip_special_tokens=True, clean_up_tokenization_spaces=False)
        return list(zip(texts, boxes))


def _scaled(request: ReferRequest) -> npt.NDArray[np.float32]:
    """Boxes in the pixels of ``request.image`` (a keyframe may be smaller than the video)."""
    if request.image is None:
        return request.boxes
    h, w = request.image.shape[:2]
    sx, sy = w / max(1, request.size[0]), h / max(1, request.size[1])
    return (request.boxes * np.array([sx, sy, sx, sy], np.float32)).astype(np.float32)


def _template_file(path: str) -> str | None:
    for name in ("chat_template.jinja", "chat_template.json"):
        file = os.path.join(path, name)
        if os.path.exists(file):
            text = open(file, encoding="utf-8").read()
            return json.loads(text)["chat_template"] if name.endswith(".json") else text
    return None
