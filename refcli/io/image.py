"""Photo decoding with EXIF orientation applied, so boxes are in the pixels a person sees.

Pictures larger than the detector and keyframes need are reduced while they are decoded, so
memory does not follow the input's pixel count (a 38 KB PNG can hold 179 million pixels):

- the long side is brought within ``WORKING_LONG_SIDE`` by the smallest integer factor
  (JPEG: by libjpeg's DCT scaling, 1/2, 1/4 or 1/8, so the full size is never decoded);
- the decoder's own buffer must fit ``MAX_DECODE_BYTES``: other formats decode whole before
  they can be reduced, and progressive JPEGs keep every DCT coefficient; a larger picture
  is refused with a one-line MediaError.

A reduced picture keeps its coordinates honest with ``Picture.scale``: boxes found on it are
divided by the scale to be stored in displayed pixels of the original, as for any other file.
"""

from __future__ import annotations

import io
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from refcli.errors import MediaError

Image = npt.NDArray[np.uint8]

WORKING_LONG_SIDE = 3840
"""refcli holds no picture or video frame with a longer side (4K UHD passes untouched): the
person detector looks at ~300 px and keyframes are stored at 1280 px."""
MAX_DECODE_BYTES = 256 << 20
"""The most a picture's decoder may hold: 8192 x 8192 RGB(A), 16384 x 16384 grey, palette or
1-bit, or a progressive JPEG of ~90 Mpx; any baseline JPEG up to 8 x 8192 px on a side. With
the models and libraries (~0.3 GB) a run then stays under ~0.7 GB on any picture."""
_STRIP_PIXELS = 4 << 20  # reduced strip by strip: the RGB copy of a huge picture is never whole


@dataclass(frozen=True)
class Picture:
    """A decoded photo: RGB pixels in displayed orientation, at most the working size.

    Attributes:
        image: (H, W, 3) uint8 RGB.
        scale: its pixels per displayed pixel of the original file (1.0 unless reduced).
        size: the original's displayed (width, height): what boxes are stored in.
    """

    image: Image
    scale: float
    size: tuple[int, int]


def reduction(width: int, height: int) -> int:
    """The integer factor that brings a ``width`` x ``height`` picture within the working size."""
    return max(1, -(-max(width, height) // WORKING_LONG_SIDE))


def load_picture(path: str, *, apply_exif: bool = True) -> Picture:
    """Decode the photo at ``path`` (a regular file: never blocks on a FIFO); see ``decode_picture``."""
    from refcli.io.files import read_regular

    return decode_picture(read_regular(path), apply_exif=apply_exif)


def load_image(path: str, *, apply_exif: bool = True) -> Image:
    """The pixels of ``load_picture`` (reduced if the photo exceeds the working size), for
    callers that need no coordinates in the original."""
    return load_picture(path, apply_exif=apply_exif).image


def decode_picture(data: bytes, *, apply_exif: bool = True) -> Picture:
    """Decode a photo fully into RGB in displayed orientation, reduced to the working size.

    ``apply_exif=False`` keeps the stored orientation (benchmarks annotate stored pixels).

    The whole image is decoded (not just ``verify()``): verify passes truncated JPEGs.
    Raises MediaError with a one-line reason for anything Pillow cannot read, and for
    pictures whose decoding would exceed ``MAX_DECODE_BYTES``.
    """
    PILImage = _pillow()
    from PIL import ImageOps, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            # refcli's own budget (below) decides what is too large; Pillow would only warn
            warnings.simplefilter("ignore", PILImage.DecompressionBombWarning)
            im = PILImage.open(io.BytesIO(data))
        with im:
            factor = reduction(*im.size)
            if factor == 1:  # the common case, decoded exactly as it always was
                _check_budget(im, 1)
                im.load()
                upright = ImageOps.exif_transpose(im) if apply_exif else im
                return Picture(np.asarray(upright.convert("RGB")), 1.0, upright.size)
            width, height = im.size
            drafted = _draft(im, factor)
            _check_budget(im, drafted)
            im.load()
            orientation = _orientation(im) if apply_exif else 1  # after load: a PNG's EXIF may follow its pixels
            rest = reduction(*im.size)
            reduced = _reduce_rgb(im, rest)
        shown = (height, width) if orientation in (5, 6, 7, 8) else (width, height)
        return Picture(np.asarray(_upright(reduced, orientation)), 1.0 / (drafted * rest), shown)
    except UnidentifiedImageError:
        raise MediaError("not a readable image (unknown or damaged format)") from None
    except PILImage.DecompressionBombError as err:
        pixels = re.search(r"\d+", str(err))
        raise MediaError(f"picture too large to decode: {pixels.group() if pixels else 'too many'} pixels "
                         f"(refcli decodes at most {MAX_DECODE_BYTES >> 20} MiB)") from None
    except (OSError, ValueError, SyntaxError, EOFError) as err:
        raise MediaError(f"damaged image ({_one_line(err)})") from None


def _pillow() -> Any:
    from PIL import Image as PILImage

    # Pillow's own pixel limit (a warning at 89 Mpx, an error at 179 Mpx) would stop pictures
    # the budget decodes safely (a 1-bit 13370 x 13370 PNG is 179 MB in memory). Raised so that
    # it only fires on pictures the budget refuses anyway; never lowered from a user's setting.
    limit = PILImage.MAX_IMAGE_PIXELS
    if limit is not None and limit < MAX_DECODE_BYTES:
        PILImage.MAX_IMAGE_PIXELS = MAX_DECODE_BYTES
    return PILImage


def _orientation(im: Any) -> int:
    try:
        return int(im.getexif().get(0x0112, 1))  # the lookup ImageOps.exif_transpose makes
    except (TypeError, ValueError):
        return 1


def _upright(im: Any, orientation: int) -> Any:
    """``im`` turned as EXIF ``orientation`` says, as ImageOps.exif_transpose turns it."""
    from PIL.Image import Transpose

    method = {2: Transpose.FLIP_LEFT_RIGHT, 3: Transpose.ROTATE_180, 4: Transpose.FLIP_TOP_BOTTOM,
              5: Transpose.TRANSPOSE, 6: Transpose.ROTATE_270, 7: Transpose.TRANSVERSE,
              8: Transpose.ROTATE_90}.get(orientation)
    return im if method is None else im.transpose(method)


def _draft(im: Any, factor: int) -> int:
    """Ask the decoder to reduce while decoding (JPEG's DCT scaling); returns the factor it will."""
    power = min(8, 1 << (factor - 1).bit_length())  # the decoder reduces by 1, 2, 4 or 8
    width, height = im.size
    drafted = im.draft(None, (max(1, width // power), max(1, height // power)))
    return round(width / drafted[1][2]) if drafted else 1


def _bytes_per_pixel(mode: str) -> int:
    """Pillow's storage per pixel: 1, L and P take a byte; 16-bit grey two; all else four
    (RGB is stored as RGBX)."""
    return 1 if mode in ("1", "L", "P") else 2 if mode.startswith("I;16") else 4


def _check_budget(im: Any, drafted: int) -> None:
    width, height = im.size
    needed = width * height * _bytes_per_pixel(im.mode)
    if im.format in ("JPEG", "MPO") and im.info.get("progressive"):
        # libjpeg keeps every DCT coefficient (2 bytes) of a progressive JPEG, at full size
        layers = getattr(im, "layer", None) or [(0, 1, 1, 0)] * 3
        most = max(h for _, h, _, _ in layers) * max(v for _, _, v, _ in layers)
        needed += 2 * (width * drafted) * (height * drafted) * sum(h * v for _, h, v, _ in layers) // most
    if needed > MAX_DECODE_BYTES:
        raise MediaError(f"picture too large to decode: {im.width * drafted} x {im.height * drafted} px {im.mode} "
                         f"needs {-(-needed >> 20)} MiB (refcli decodes at most {MAX_DECODE_BYTES >> 20} MiB)")


def _reduce_rgb(im: Any, factor: int) -> Any:
    """``im`` as RGB, its sides divided by ``factor`` (box filter), converted and reduced strip by
    strip so that no full-size copy is made; strips are whole multiples of the factor, so the
    result is the same as reducing the whole picture at once."""
    from PIL import Image as PILImage

    if factor == 1:
        return im.convert("RGB")
    width, height = im.size
    rows = factor * max(1, _STRIP_PIXELS // (width * factor))
    out = PILImage.new("RGB", (-(-width // factor), -(-height // factor)))
    for top in range(0, height, rows):
        strip = im.crop((0, top, width, min(height, top + rows))).convert("RGB").reduce(factor)
        out.paste(strip, (0, top // factor))
    return out


def _one_line(err: BaseException) -> str:
    text = str(err).strip() or type(err).__name__
    return text.splitlines()[0]


def to_pil(images: Sequence[Image]) -> list[Any]:
    """PIL pictures of RGB arrays, as the transformers processors take them."""
    from PIL import Image as PILImage

    return [PILImage.fromarray(np.ascontiguousarray(image)) for image in images]
