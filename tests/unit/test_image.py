from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from refcli.errors import MediaError
from refcli.io.image import load_image


def test_exif_orientation_is_applied(data_dir: Path) -> None:
    upright = load_image(str(data_dir / "messi5.jpg"))
    rotated = load_image(str(data_dir / "messi5_exif6.jpg"))
    assert upright.shape == rotated.shape == (342, 548, 3)
    assert np.abs(upright.astype(int) - rotated.astype(int)).mean() < 3.0


@pytest.mark.parametrize(("content", "reason"), [
    (b"", "not a readable image"),
    (b"GIF89a not really", "not a readable image"),
    ("half", "damaged image"),
])
def test_bad_images_raise_one_line_media_error(tmp_path: Path, data_dir: Path, content, reason: str) -> None:
    if content == "half":
        jpeg = (data_dir / "messi5.jpg").read_bytes()
        content = jpeg[: len(jpeg) // 2]
    path = tmp_path / "bad.jpg"
    path.write_bytes(content)
    with pytest.raises(MediaError, match=reason) as err:
        load_image(str(path))
    assert "\n" not in str(err.value)
