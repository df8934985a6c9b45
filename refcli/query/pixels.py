"""The pixels of a stored frame, for backends that look at them."""

from __future__ import annotations

import dataclasses

import numpy as np

from refcli.io.image import Picture
from refcli.query.frames import Frame
from refcli.refer import ReferRequest
from refcli.store import Store


def frame_pixels(store: Store, frame: Frame) -> Picture | None:
    """A frame's pixels in displayed size (the boxes' coordinates), within the working size
    (``Picture.scale`` says how much smaller): the photo, or the stored keyframe scaled back
    from its stored size; None when neither can be had."""
    from refcli.errors import MediaError
    from refcli.io.image import load_picture, reduction
    from refcli.keyframes import decode_keyframe

    if frame.kind == "image":
        for path in frame.paths:
            try:
                return load_picture(path)
            except (MediaError, OSError):
                continue
        return None
    row = store.contents.keyframe(frame.content_id, frame.generation, frame.sample)
    if row is None:
        return None
    image = decode_keyframe(row["jpeg"])
    width, height = int(frame.width), int(frame.height)
    factor = reduction(width, height)  # as indexing reduced the video's frames
    size = (-(-width // factor), -(-height // factor))
    if (image.shape[1], image.shape[0]) != size:
        from PIL import Image

        image = np.asarray(Image.fromarray(image).resize(size, Image.Resampling.BILINEAR))
    return Picture(image, 1 / factor, (width, height))


def with_image(store: Store, request: ReferRequest, frame: Frame) -> ReferRequest:
    """The request with the frame's pixels (the photo itself, or the stored keyframe), its
    boxes, size and object boxes in those pixels (they differ only for huge files); its image is
    None when the pixels cannot be had."""
    picture = frame_pixels(store, frame)
    if picture is None:
        return dataclasses.replace(request, image=None)
    if picture.scale == 1.0:
        return dataclasses.replace(request, image=picture.image)
    k = picture.scale
    objects = None if request.objects is None else {
        phrase: [([v * k for v in box], score) for box, score in found] for phrase, found in request.objects.items()}
    features = None if request.features is None else [f.scaled(k) for f in request.features]
    return dataclasses.replace(request, image=picture.image, boxes=(request.boxes * k).astype(np.float32),
                               size=(picture.image.shape[1], picture.image.shape[0]), objects=objects,
                               features=features)
