"""`refcli find`: run a referrer over the stored frames and turn its choices into hits.

A referrer judges one frame at a time; "the person on the left" may hold for part of a track
only. A hit is therefore a *moment*: a run of consecutive samples of one track that the
referrer chose, with the box and time of its best sample.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from refcli.defaults import PEOPLE_MIN_SCORE
from refcli.detections import NO_TRACK
from refcli.features.motion import motion_cues
from refcli.io.image import Picture
from refcli.refer import ReferRequest, Referrer, ReferResult
from refcli.render import hit_id
from refcli.store import AnswerRow, Store, frame_cache_key

_REFER_BATCH = 256


@dataclass
class Hit:
    """One matching person over one stretch of time."""

    path: str
    kind: str
    time: float | None  # the best sample's time; null for photos
    start: float | None
    end: float | None
    box: list[float]
    score: float
    track: int | None
    content_id: str
    id: str
    paths: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class FindResult:
    query: str
    backend: str
    total: int
    hits: list[Hit]
    unsupported: list[str]
    ignored: list[str] = field(default_factory=list)  # unsupported phrases dropped on request
    warnings: list[str] = field(default_factory=list)  # e.g. model answers that could not be parsed
    frames_judged: int = 0
    frames_grounded: int = 0  # (frame, object phrase) pairs that ran the grounder (not from its cache)

    def to_dict(self) -> dict[str, Any]:
        return {"query": self.query, "backend": self.backend, "total": self.total,
                "hits": [h.to_dict() for h in self.hits], "unsupported": self.unsupported, "ignored": self.ignored,
                "warnings": self.warnings, "frames_judged": self.frames_judged,
                "frames_grounded": self.frames_grounded}


@dataclass
class _Chosen:
    sample: int
    time: float | None
    box: list[float]
    score: float


def find(store: Store, query: str, referrer: Referrer, *, min_score: float = PEOPLE_MIN_SCORE,
         limit: int | None = None, content_ids: set[str] | None = None, grounder: Any = None) -> FindResult:
    """Every moment of every person in the index that ``referrer`` says matches ``query``, best first.

    ``total`` counts all matches; ``hits`` holds the first ``limit`` of them (all if None).
    ``content_ids`` restricts the search to those files (what a scan just added). ``grounder``
    (refcli.ground) finds the things of "holding a microphone" on the frames that need them.
    """
    require_query(query)
    unsupported = list(referrer.unsupported(query))
    chosen: dict[tuple[str, int, int], list[_Chosen]] = {}
    frames_of: dict[str, dict[str, Any]] = {}
    warnings: list[str] = []
    dropped: list[str] = []
    judged = 0
    cache = _Cache(store, referrer, query, min_score)
    grounding = _Grounding(store, referrer, query, grounder)
    if not unsupported:
        for chunk in _requests(store, query, min_score, content_ids, referrer, grounding):
            judged += len(chunk)
            results = cache.refer(chunk)
            for (_, meta), result in zip(chunk, results):
                for phrase in result.unsupported:
                    if phrase not in unsupported:
                        unsupported.append(phrase)
                dropped += [phrase for phrase in result.ignored if phrase not in dropped]
                warnings += [w for w in result.warnings if w not in warnings][:20 - len(warnings)]
                frame = meta["frame"]
                frames_of[frame["content_id"]] = frame
                for index, score in zip(result.indexes, result.scores):
                    candidate = meta["people"][index]
                    key = (frame["content_id"], frame["generation"], int(candidate["track"]))
                    chosen.setdefault(key, []).append(_Chosen(
                        frame["sample"], frame["time"], [round(float(v), 1) for v in candidate["box"]], float(score)))
    hits = [] if unsupported else _moments(store, chosen, frames_of)
    hits.sort(key=lambda h: (-h.score, h.path, h.start if h.start is not None else -1.0))
    said = list(referrer.ignored(query))
    ignored = said + [p for p in dropped if p not in said]
    cache.save()
    return FindResult(query=query, backend=referrer.name, total=len(hits),
                      hits=hits if limit is None else hits[:limit], unsupported=unsupported, ignored=ignored,
                      warnings=warnings, frames_judged=judged, frames_grounded=grounding.ran)


def require_query(query: str) -> None:
    """Refuse a query that says nothing ("", "the", "!!!"): answering everyone would be a guess."""
    from refcli.errors import UsageError
    from refcli.refer.grammar import says_something

    if not says_something(query):
        raise UsageError(f"the query {query.strip()[:60]!r} says nothing to look for: describe someone, "
                         "e.g. \"person\" for everyone or \"the woman in red on the left\"")


class _Cache:
    """Answers of slow (model) referrers, keyed by model, query, gallery and the frame's generation."""

    def __init__(self, store: Store, referrer: Referrer, query: str, min_score: float) -> None:
        self.store, self.referrer = store, referrer
        self.prefix = None if referrer.cache_id is None else f"{referrer.cache_id}|{query}|{min_score:.3f}"
        self.known = store.caches.answers() if self.prefix else {}
        self.new: list[AnswerRow] = []

    def refer(self, chunk: list[tuple[ReferRequest, dict[str, Any]]]) -> list[ReferResult]:
        if self.prefix is None:
            return self.referrer.refer([request for request, _ in chunk])
        keys = [frame_cache_key(self.prefix, meta["frame"]) for _, meta in chunk]
        missing = [i for i, k in enumerate(keys) if k not in self.known]
        fresh = iter(self.referrer.refer([chunk[i][0] for i in missing])) if missing else iter(())
        out = []
        for key in keys:
            if key in self.known:
                indexes, scores = self.known[key]
                out.append(ReferResult(indexes=tuple(indexes), scores=tuple(scores)))
                continue
            result = next(fresh)
            out.append(result)
            if not result.unsupported and not result.warnings:  # only clean answers are worth keeping
                self.known[key] = (list(result.indexes), list(result.scores))
                self.new.append({"key": key, "indexes": list(result.indexes), "scores": list(result.scores),
                                 "created": time.time()})
        return out

    def save(self) -> None:
        self.store.caches.add_answers(self.new)
        self.new = []


def _moments(store: Store, chosen: dict[tuple[str, int, int], list[_Chosen]],
             frames_of: dict[str, dict[str, Any]]) -> list[Hit]:
    by_content: dict[tuple[str, int], set[int]] = {}
    for content_id, generation, track in chosen:
        if track != NO_TRACK:
            by_content.setdefault((content_id, generation), set()).add(track)
    samples_of = store.contents.track_samples(by_content)
    hits = []
    for (content_id, _generation, track), picks in chosen.items():
        frame = frames_of[content_id]
        picks.sort(key=lambda c: c.sample)
        order = samples_of.get((content_id, track))
        for run in _runs(picks, order) if order else [[p] for p in picks]:
            best = max(run, key=lambda c: c.score)
            hits.append(Hit(
                path=frame["paths"][0], kind=frame["kind"], time=best.time, start=run[0].time, end=run[-1].time,
                box=best.box, score=round(best.score, 4), track=None if track == NO_TRACK else track,
                content_id=content_id, id=hit_id(content_id, track, best.sample), paths=frame["paths"]))
    return hits


def _runs(picks: list[_Chosen], order: list[int]) -> list[list[_Chosen]]:
    """Split a track's chosen samples where the track has a sample that was not chosen."""
    position = {sample: i for i, sample in enumerate(order)}
    runs: list[list[_Chosen]] = []
    for pick in picks:
        if runs and position.get(pick.sample, -2) == position.get(runs[-1][-1].sample, -10) + 1:
            runs[-1].append(pick)
        else:
            runs.append([pick])
    return runs


PREFILTER_FRAMES = 200
"""Above this many frames, a model backend only sees frames where the embedded referrer finds
someone for the parts of the query it understands (colours, positions, names...)."""


def _requests(store: Store, query: str, min_score: float, content_ids: set[str] | None,
              referrer: Referrer, grounding: _Grounding | None = None
              ) -> Iterator[list[tuple[ReferRequest, dict[str, Any]]]]:
    frames, paths = store.contents.current_frames()
    if content_ids is not None:
        import pyarrow as pa
        import pyarrow.compute as pc

        frames = frames.filter(pc.is_in(frames.column("content_id"), pa.array(sorted(content_ids), pa.string())))
    tracks = store.contents.track_features()
    best, measured = tracks.scores, tracks.features
    unknown: dict[str, Any] = {"colours": None, **({"faces": []} if tracks.faces_indexed else {})}
    moments = _Moments(store, referrer.wants(query))
    pictured = store.contents.keyframe_samples() if referrer.needs_image else {}
    built: list[tuple[ReferRequest, dict[str, Any]]] = []
    for frame in frames.to_pylist():
        frame["paths"] = paths[frame["content_id"]]
        key = (frame["content_id"], frame["generation"])
        if referrer.needs_image and frame["kind"] == "video" and frame["sample"] not in pictured.get(key, ()):
            continue  # a model must see pixels: video frames are judged where a keyframe was kept
        # A person is a track whose best box reaches min_score: its weaker boxes (a turn, a
        # partial occlusion) are still that person. Untracked boxes are judged alone.
        people = [c for c in frame["candidates"]
                  if (best.get((*key, c["track"]), 0.0) if c["track"] != NO_TRACK else c["score"]) >= min_score]
        if not people:
            continue
        request = ReferRequest(
            expression=query,
            boxes=np.array([c["box"] for c in people], np.float32).reshape(-1, 4),
            scores=np.array([c["score"] for c in people], np.float32),
            size=(frame["width"], frame["height"]),
            features=[{**unknown, **measured.get((*key, c["track"]), {}), **moments.at(frame, c["track"])}
                      for c in people],
        )
        built.append((request, {"frame": frame, "people": people}))
    if referrer.needs_image and len(built) > PREFILTER_FRAMES:
        built = _prefilter(store, query, built)
    if grounding is not None and grounding.active:
        built = grounding.apply(built)
    size = 8 if referrer.needs_image else _REFER_BATCH
    for start in range(0, len(built), size):
        chunk = built[start:start + size]
        if referrer.needs_image:
            chunk = [(_with_image(store, request, meta["frame"]), meta) for request, meta in chunk]
            chunk = [(request, meta) for request, meta in chunk if request.image is not None]
        yield chunk


class _Grounding:
    """Object boxes for queries about things ("holding a microphone"): frames where nobody meets
    the cheaper constraints are dropped first; the rest are grounded (cached) and carry the boxes
    in their requests. Without a grounder the referrer reports the objects as unsupported."""

    def __init__(self, store: Store, referrer: Referrer, query: str, grounder: Any) -> None:
        self.store, self.grounder, self.query = store, grounder, query
        self.ran = 0
        self.active = "objects" in referrer.wants(query)

    def apply(self, built: list[tuple[ReferRequest, dict[str, Any]]]) -> list[tuple[ReferRequest, dict[str, Any]]]:
        import dataclasses

        from refcli.refer.embedded import EmbeddedReferrer, select

        embedded = EmbeddedReferrer(self.store.gallery.embeddings(), ignore_unsupported=True)
        parsed = embedded.parse(self.query)
        cheap = dataclasses.replace(parsed, objects=())
        kept = [(request, meta) for request, meta in built
                if select(cheap, request.boxes, request.size, request.features, embedded.gallery)]
        if self.grounder is None or not kept:
            return kept
        from refcli.ground.stage import ground_frames

        phrases = list(embedded.object_phrases(self.query))

        found, self.ran = ground_frames(self.store, self.grounder, phrases, [meta["frame"] for _, meta in kept],
                                        lambda frame: frame_pixels(self.store, frame))
        return [(dataclasses.replace(request, objects=objects), meta)
                for (request, meta), objects in zip(kept, found) if objects is not None]


POSE_REACH_SECONDS = 0.75
"""A pose estimated this close in time describes a video frame (poses are taken every second)."""


class _Moments:
    """Pose and motion cues of a track at one frame, loaded only when the query asks for them."""

    def __init__(self, store: Store, wants: frozenset[str]) -> None:
        self.wants = wants
        self.poses = store.contents.track_poses() if wants & {"pose", "keypoints"} else None
        self.posed: set[str] = set()
        if self.poses is not None:
            import json

            self.posed = {m.content_id for m in store.contents.media().values()
                          if "pose" in json.loads(m.signature or "{}")}
        # per track: where each sample's motion sits in its values, and the values
        self.motion = None if "motion" not in wants else {
            key: ({sample: k for k, sample in enumerate(samples)}, values)
            for key, (samples, values) in store.contents.track_motion().items()}

    def at(self, frame: dict[str, Any], track: int) -> dict[str, Any]:
        out: dict[str, Any] = {}
        key = (frame["content_id"], frame["generation"], track)
        if self.poses is not None and frame["content_id"] in self.posed:
            pose = _nearest(self.poses.get(key, []), frame["time"])
            if "pose" in self.wants:
                out["pose"] = pose["cues"] if pose else None
            if "keypoints" in self.wants:
                out["keypoints"] = pose["keypoints"] if pose else {}
        if self.motion is not None:
            positions, values = self.motion.get(key, ({}, []))
            if values is not None:  # None: indexed before motion was measured; the key stays absent
                k = positions.get(frame["sample"])
                out["motion"] = None if k is None else motion_cues(*values[3 * k:3 * k + 3])
        return out


def _nearest(poses: list[tuple[float | None, dict[str, Any]]], time: float | None) -> dict[str, Any] | None:
    if time is None:  # a photo: its one pose
        return poses[0][1] if poses else None
    best = min(poses, key=lambda p: abs((p[0] or 0.0) - time), default=None)
    return best[1] if best is not None and abs((best[0] or 0.0) - time) <= POSE_REACH_SECONDS else None


def _prefilter(store: Store, query: str, built: list[tuple[ReferRequest, dict[str, Any]]]
               ) -> list[tuple[ReferRequest, dict[str, Any]]]:
    from refcli.refer import create_referrer

    embedded = create_referrer("embedded", gallery=store.gallery.embeddings(), ignore_unsupported=True)
    parsed = embedded.parse(query)  # type: ignore[attr-defined]
    if not (parsed.positions or parsed.colours or parsed.names or parsed.size or parsed.next_to or parsed.count):
        return built  # nothing the cheap referrer can check: every frame goes to the model
    results = embedded.refer([request for request, _ in built])
    # a frame it cannot judge (a cue whose features were not loaded) goes to the model
    return [item for item, result in zip(built, results) if result.indexes or result.unsupported]


def _with_image(store: Store, request: ReferRequest, frame: dict[str, Any]) -> ReferRequest:
    """The request with the frame's pixels (the photo itself, or the stored keyframe), its
    boxes, size and object boxes in those pixels (they differ only for huge files)."""
    import dataclasses

    picture = frame_pixels(store, frame)
    if picture is None:
        return dataclasses.replace(request, image=None)
    if picture.scale == 1.0:
        return dataclasses.replace(request, image=picture.image)
    k = picture.scale
    objects = None if request.objects is None else {
        phrase: [([v * k for v in box], score) for box, score in found] for phrase, found in request.objects.items()}
    features = None if request.features is None else [
        {**f, "keypoints": {name: (x * k, y * k) for name, (x, y) in f["keypoints"].items()}}
        if f.get("keypoints") else f for f in request.features]
    return dataclasses.replace(request, image=picture.image, boxes=(request.boxes * k).astype(np.float32),
                               size=(picture.image.shape[1], picture.image.shape[0]), objects=objects,
                               features=features)


def frame_pixels(store: Store, frame: dict[str, Any]) -> Picture | None:
    """A frame's pixels in displayed size (the boxes' coordinates), within the working size
    (``Picture.scale`` says how much smaller): the photo, or the stored keyframe scaled back
    from its stored size; None when neither can be had."""
    from refcli.errors import MediaError
    from refcli.io.image import load_picture, reduction
    from refcli.keyframes import decode_keyframe

    if frame["kind"] == "image":
        for path in frame["paths"]:
            try:
                return load_picture(path)
            except (MediaError, OSError):
                continue
        return None
    row = store.contents.keyframe(frame["content_id"], frame["generation"], frame["sample"])
    if row is None:
        return None
    image = decode_keyframe(row["jpeg"])
    width, height = int(frame["width"]), int(frame["height"])
    factor = reduction(width, height)  # as indexing reduced the video's frames
    size = (-(-width // factor), -(-height // factor))
    if (image.shape[1], image.shape[0]) != size:
        from PIL import Image

        image = np.asarray(Image.fromarray(image).resize(size, Image.Resampling.BILINEAR))
    return Picture(image, 1 / factor, (width, height))
