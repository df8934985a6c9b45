"""Photo decoding with EXIF orientation applied, so boxes are in the pixels a person sees."""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from refcli.errors import MediaError

Image = npt.NDArray[np.uint8]


def load_image(path: str, *, apply_exif: bool = True) -> Image:
    """Decode the photo at ``path`` (a regular file: never blocks on a FIFO); see ``decode_image``."""
    from refcli.io.files import read_regular

    return decode_image(read_regular(path), apply_exif=apply_exif)


def decode_image(data: bytes, *, apply_exif: bool = True) -> Image:
    """Decode a photo fully into (H, W, 3) uint8 RGB in displayed orientation.

    ``apply_exif=False`` keeps the stored orientation (benchmarks annotate stored pixels).

    The whole image is decoded (not just ``verify()``): verify passes truncated JPEGs.
    Raises MediaError with a one-line reason for anything Pillow cannot read.
    """
    from PIL import Image as PILImage
    from PIL import ImageOps, UnidentifiedImageError

    try:
        with PILImage.open(io.BytesIO(data)) as im:
            im.load()
            upright = ImageOps.exif_transpose(im) if apply_exif else im
            rgb = upright.convert("RGB")
            return np.asarray(rgb)
    except UnidentifiedImageError:
        raise MediaError("not a readable image (unknown or damaged format)") from None
    except PILImage.DecompressionBombError as err:
        raise MediaError(f"image too large to decode safely ({err})") from None
    except (OSError, ValueError, SyntaxError, EOFError) as err:
        raise MediaError(f"damaged image ({_one_line(err)})") from None


def _one_line(err: BaseException) -> str:
    text = str(err).strip() or type(err).__name__
    return text.splitlines()[0]


def to_pil(images: Sequence[Image]) -> list[Any]:
    """PIL pictures of RGB arrays, as the transformers processors take them."""
    from PIL import Image as PILImage

    return [PILImage.fromarray(np.ascontiguousarray(image)) for image in images]
