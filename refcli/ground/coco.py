"""The embedded object grounder: a COCO-80 detector (NanoDet-g) that ships inside
refcli and runs on the CPU, for the everyday things people are described with (a cup, a phone,
a ball, a bench, a dog...).

It knows the 80 COCO classes and the common words for them (``WORDS``: sofa is a couch, a mobile
is a cell phone, a football is a sports ball). A phrase may add a colour ("the yellow sofa"):
the object's own colours are measured as clothing colours are, and the box is kept only where
that colour covers enough of it. A phrase outside the vocabulary is not this grounder's to answer
(``understands``): the query reports it as unsupported and names the open-vocabulary grounders.
Weights and their provenance: refcli/weights/PROVENANCE.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from typing import Any, ClassVar

from refcli.features.colors import COLOURS as COLOUR_NAMES
from refcli.features.colors import MIN_SHARE, colour_shares, colour_word, is_grayscale, sampling
from refcli.ground import Found, Grounder, Image, calibrate
from refcli.weights.nanodet import LABELS

WORDS: dict[str, tuple[str, ...]] = {
    **{label: (label,) for label in LABELS if label != "person"},
    "bike": ("bicycle",), "cycle": ("bicycle",), "motorbike": ("motorcycle",), "scooter": ("motorcycle",),
    "plane": ("airplane",), "aeroplane": ("airplane",), "lorry": ("truck",), "ship": ("boat",),
    "hydrant": ("fire hydrant",), "puppy": ("dog",), "kitten": ("cat",), "pony": ("horse",),
    "bag": ("handbag", "backpack", "suitcase"), "purse": ("handbag",), "handbag": ("handbag",),
    "rucksack": ("backpack",), "luggage": ("suitcase",), "necktie": ("tie",),
    "ball": ("sports ball",), "football": ("sports ball",), "soccer ball": ("sports ball",),
    "basketball": ("sports ball",), "volleyball": ("sports ball",), "tennis ball": ("sports ball",),
    "baseball": ("sports ball",), "bat": ("baseball bat",), "glove": ("baseball glove",),
    "mitt": ("baseball glove",), "racket": ("tennis racket",), "racquet": ("tennis racket",),
    "ski": ("skis",), "board": ("skateboard", "surfboard", "snowboard"),
    "mug": ("cup",), "coffee": ("cup",), "coffee cup": ("cup",), "teacup": ("cup",),
    "table": ("dining table",), "desk": ("dining table",), "sofa": ("couch",), "settee": ("couch",),
    "armchair": ("chair", "couch"), "seat": ("chair", "bench", "couch"), "stool": ("chair",),
    "plant": ("potted plant",), "flowerpot": ("potted plant",), "television": ("tv",), "tv set": ("tv",),
    "monitor": ("tv",), "screen": ("tv", "laptop"), "computer": ("laptop",), "notebook": ("laptop", "book"),
    "remote control": ("remote",), "controller": ("remote",), "phone": ("cell phone",),
    "mobile": ("cell phone",), "mobile phone": ("cell phone",), "smartphone": ("cell phone",),
    "cellphone": ("cell phone",), "fridge": ("refrigerator",), "teddy": ("teddy bear",),
    "stuffed animal": ("teddy bear",), "soft toy": ("teddy bear",), "hairdryer": ("hair drier",),
    "hair dryer": ("hair drier",), "doughnut": ("donut",), "hotdog": ("hot dog",),
    "stove": ("oven",), "cooker": ("oven",),
}
"""Words (singular) for the COCO things, with what they may be."""

THRESHOLD = 0.35
"""NanoDet's score at which a box counts (calibrated to 0.5): NanoDet's own demo draws at 0.35."""
NMS_IOU = 0.5
MODEL_VERSION = "human-models-3.0.4:nanodet/v1"


def _singular(word: str) -> str:
    for suffix, replacement in (("ies", "y"), ("ives", "ife"), ("ves", "f"), ("ches", "ch"), ("shes", "sh"),
                                ("sses", "ss"), ("xes", "x"), ("s", "")):
        if word.endswith(suffix) and len(word) > len(suffix) + 1 and word not in WORDS:
            return word[: -len(suffix)] + replacement
    return word


def read_phrase(phrase: str) -> tuple[tuple[str, ...], tuple[str, ...]] | None:
    """(COCO classes, colours) a phrase names ("yellow sofas" -> (("couch",), ("yellow",))), or
    None when it names something outside the vocabulary. What a thing is made of or holds ("a cup
    of coffee") is the thing before "of"; words before a known noun that are not colours ("a
    small dog", "a wooden bench") do not change what it is."""
    head = phrase.lower().replace("-", " ").split(" of ")[0]
    words = [w for w in head.split() if w not in ("a", "an", "the", "some", "his", "her", "their", "its")]
    colours = tuple(c for w in words if (c := colour_word(w)) is not None)
    words = [w for w in words if colour_word(w) is None]
    if not words:
        return None
    words[-1] = _singular(words[-1])
    for start in range(len(words)):
        classes = WORDS.get(" ".join(words[start:]))
        if classes is not None:
            return classes, colours
    return None


def object_colours(image: Image, box: Sequence[float]) -> dict[str, float] | None:
    """Share of each colour name over the central part of a thing's box (its edges are often
    background); None for a grayscale picture."""
    if is_grayscale(image):
        return None
    x1, y1, x2, y2 = (float(v) for v in box)
    bw, bh = x2 - x1, y2 - y1
    sampled = sampling(image, (x1 + 0.2 * bw, y1 + 0.2 * bh, x2 - 0.2 * bw, y2 - 0.2 * bh))
    if sampled is None:
        return {}
    (ix1, iy1, ix2, iy2), step = sampled
    shares = colour_shares(image[iy1:iy2:step, ix1:ix2:step].reshape(-1, 3))[:len(COLOUR_NAMES)]
    return {COLOUR_NAMES[i]: float(s) for i, s in enumerate(shares) if s >= 0.05}


class COCOGrounder(Grounder):
    """NanoDet on the whole picture, once per picture, then the boxes of the asked things."""

    name: ClassVar[str] = "coco"

    def __init__(self, threads: int | None = None) -> None:
        self.threads = threads or 1
        # what the last pictures held, by id (each phrase asks about the same pictures again);
        # the picture is kept with it so that its id cannot be reused meanwhile
        self._seen: dict[int, tuple[Image, list[tuple[list[float], float, str]]]] = {}

    @property
    def version(self) -> str:
        return f"{MODEL_VERSION}-t{THRESHOLD:g}-nms{NMS_IOU:g}"

    def understands(self, phrase: str) -> bool:
        return read_phrase(phrase) is not None

    @cached_property
    def _session(self) -> Any:
        from refcli.weights import session

        return session("nanodet", self.threads)

    def detect(self, image: Image) -> list[tuple[list[float], float, str]]:
        """Every COCO thing in the picture (refcli.weights.nanodet.objects), once per picture."""
        if id(image) in self._seen:
            return self._seen[id(image)][1]
        from refcli.weights.nanodet import objects

        out = objects(self._session, image, THRESHOLD / 2, NMS_IOU)
        if len(self._seen) >= 64:
            self._seen.clear()
        self._seen[id(image)] = (image, out)
        return out

    def ground(self, images: Sequence[Image], phrase: str) -> list[Found]:
        read = read_phrase(phrase)
        if read is None:
            return [[] for _ in images]
        classes, colours = read
        out: list[Found] = []
        for image in images:
            found: Found = []
            for box, raw, label in self.detect(image):
                if label not in classes:
                    continue
                score = calibrate(raw, THRESHOLD)
                if score < 0.5:
                    continue
                if colours:
                    shares = object_colours(image, box)
                    if shares is None or not all(shares.get(c, 0.0) >= MIN_SHARE for c in colours):
                        continue
                found.append((box, score))
            out.append(found)
        return out
