"""The embedded referrer: judges what can be measured on CPU without a large model.

Understood: subject and number, counts, positions (regions, extremes, ordinals), nearness by
box size, clothing colours on the upper and lower body (with negation and conjunction), people
named in the user's face gallery, "next to" another described person, body pose cues (posture,
arms raised, hand at face, arms crossed, facing) and, in video, motion (still, walking left or
right, towards or away). Features come from the index (per track, pose and motion per moment)
or, in a benchmark run, are measured on the image. Anything else is reported as unsupported and
nobody is chosen, unless the caller asks to ignore it. A cue that could not be seen ("unknown":
legs out of the picture, too few samples) never matches, negated or not.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import numpy.typing as npt

from refcli.features import Cues, Measured, Offer
from refcli.features.colors import ClothingColours
from refcli.features.face_traits import FaceTraits
from refcli.features.faces import FACES_COLUMN, SeenFaces
from refcli.features.motion import CUE_NAMES as MOTION_CUES
from refcli.features.motion import MotionCues
from refcli.features.pose import CUE_NAMES as POSE_CUES
from refcli.features.pose import POSES_COLUMN, Keypoints, PoseCues
from refcli.refer import ReferRequest, Referrer, ReferResult, TrackTerms
from refcli.refer.grammar import (
    ColourClause,
    Cue,
    ObjectRelation,
    ParsedExpression,
    Position,
    Trait,
    normal_name,
    parse,
)
from refcli.refer.relations import CARRIED, Body, owned_by, relates, with_people

if TYPE_CHECKING:
    import pyarrow as pa

_AXIS = {"left": (0, False), "right": (0, True), "top": (1, False), "bottom": (1, True)}

MODEL_BACKEND_HINT = "a model backend (--backend vlm: Qwen2.5-VL / Rex-Thinker) could judge it"


class EmbeddedReferrer(Referrer):
    """Grammar + geometry + measured features; multi-instance, rejects what it cannot judge.

    Args:
        gallery: name -> face embeddings from `refcli faces add` (names are matched in queries).
        ignore_unsupported: answer with the understood constraints and drop the rest.
    """

    name: ClassVar[str] = "embedded"
    uses_grounder: ClassVar[bool] = True

    def __init__(self, gallery: Mapping[str, Sequence[Sequence[float]]] | None = None,
                 ignore_unsupported: bool = False) -> None:
        self.gallery: dict[str, list[npt.NDArray[np.float32]]] = {}
        for name, faces in (gallery or {}).items():  # keyed as the grammar reads names in expressions
            self.gallery.setdefault(normal_name(name), []).extend(np.asarray(e, np.float32) for e in faces)
        self.ignore_unsupported = ignore_unsupported

    def parse(self, expression: str) -> ParsedExpression:
        parsed = parse(expression, tuple(self.gallery))
        return parsed.without_unsupported() if self.ignore_unsupported else parsed

    def unsupported(self, expression: str) -> tuple[str, ...]:
        return self.parse(expression).all_unsupported()

    def ignored(self, expression: str) -> tuple[str, ...]:
        return self.parse(expression).ignored

    def object_phrases(self, expression: str) -> tuple[str, ...]:
        return tuple(dict.fromkeys(r.object for r in self.parse(expression).all_objects()))

    def narrows(self, expression: str) -> bool:
        parsed = self.parse(expression)
        return bool(parsed.positions or parsed.colours or parsed.names or parsed.size or parsed.people
                    or parsed.count or parsed.traits)

    def per_track(self, expression: str) -> TrackTerms | None:
        """Names, clothing colours and face traits are a track's (one value for all of it); a
        position, a count, a size, a pose or motion cue, a thing or another person are not. The
        colours and traits are tested on the stored columns exactly; a name needs its faces
        compared with the gallery's, so with a name the test only narrows. Pose and motion cues
        narrow to the tracks that show them at some moment. ``select`` rules out who the person
        is before it looks where they are or who is near them, so the test holds for the person
        chosen in any frame; tracks whose faces, pose or motion were not measured, where the
        expression asks about them, are kept: their frames say so."""
        parsed = self.parse(expression)
        if not parsed.understood:
            return None
        alone = not (parsed.positions or parsed.size or parsed.count is not None or parsed.people or parsed.objects
                     or parsed.cues)
        columns: set[str] = set()
        tests = []
        for name in parsed.names:
            columns.add("faces")
            tests.append(lambda t, n=name: _may_be_named(t, self.gallery.get(n, [])))
        for clause in parsed.colours:
            columns |= {"upper_colours", "lower_colours"}
            tests.append(lambda t, c=clause: _may_wear(t, c))
        for trait in parsed.traits:
            columns.add("face_traits")
            tests.append(lambda t, tr=trait: _may_have(t, tr))
        for cue in sorted(parsed.cues, key=lambda c: c.name in POSE_CUES):  # poses are read in Python: last
            columns.add("motion" if cue.name in MOTION_CUES else POSES_COLUMN)
            tests.append(lambda t, c=cue: _may_show(t, c))
        unmeasured = [w for w in ("faces", "pose", "motion") if _needs(parsed, w)]  # here or in the others described
        columns |= {_MEASURED_BY[w] for w in unmeasured}

        def narrow(tracks: pa.Table) -> npt.NDArray[np.bool_]:
            keep = np.ones(tracks.num_rows, np.bool_)
            for test in tests:  # each on the rows the tests before left
                rows = np.flatnonzero(keep)
                if not len(rows):
                    break
                keep[rows] = test(tracks if len(rows) == tracks.num_rows else tracks.take(rows))
            for what in unmeasured:
                keep |= _not_measured(tracks, what)
            return keep

        return TrackTerms(alone, tuple(sorted(columns)), narrow if tests else None,
                          exact=alone and not parsed.names)

    def meets_all_but_objects(self, requests: Sequence[ReferRequest]) -> list[bool]:
        """Per request, whether someone in it meets every constraint of its expression except the
        things it names ("holding a microphone"), which are judged once a grounder found them:
        frames where nobody does are not worth grounding."""
        cheap: dict[str, ParsedExpression] = {}
        out = []
        for request in requests:
            if request.expression not in cheap:
                cheap[request.expression] = self.parse(request.expression).keeping_objects(lambda _: False)
            out.append(bool(select(cheap[request.expression], request.boxes, request.size, request.features,
                                   self.gallery)))
        return out

    def wants(self, expression: str) -> frozenset[str]:
        """Only what the expression asks about: each feature read costs a table read."""
        parsed = self.parse(expression)
        return frozenset(w for w in ("colours", "faces", "pose", "motion", "traits", "objects", "keypoints")
                         if _needs(parsed, w))

    def refer(self, requests: Sequence[ReferRequest]) -> list[ReferResult]:
        return [self._refer_one(r) for r in requests]

    def _refer_one(self, request: ReferRequest) -> ReferResult:
        parsed = self.parse(request.expression)
        if not parsed.understood:
            return ReferResult(unsupported=parsed.all_unsupported())
        features = self._features(request, parsed)
        missing = _unmeasured(parsed, features)
        ungrounded = [r for r in parsed.all_objects() if request.objects is None or r.object not in request.objects]
        dropped: tuple[str, ...] = ()
        if ungrounded and self.ignore_unsupported:
            parsed = parsed.keeping_objects(lambda r: r not in ungrounded)
            dropped = tuple(r.text or r.object for r in ungrounded)
        else:
            missing += tuple(f"{r.text or r.object} (finding the {r.object} needs an open-vocabulary object "
                             "grounder, the embedded one knows the 80 COCO things: --grounder owlv2 "
                             "--grounder-model FOLDER, see `refcli models list`)" for r in ungrounded)
        if missing:
            return ReferResult(unsupported=missing)
        chosen = select(parsed, request.boxes, request.size, features, self.gallery, request.objects)
        return ReferResult(indexes=tuple(int(i) for i in chosen),
                           scores=tuple(float(request.scores[i]) for i in chosen), ignored=dropped)

    def _features(self, request: ReferRequest, parsed: ParsedExpression) -> list[Measured]:
        """Stored features, plus what is needed, not stored, and can be measured on the image at
        hand (a benchmark run): colours, faces, pose. Motion needs a track: never measured here."""
        stored = list(request.features) if request.features is not None else [Measured() for _ in request.boxes]
        if request.image is None:
            return stored
        from refcli.features import pose as body

        measurable: tuple[type[Offer], ...] = (ClothingColours, SeenFaces, FaceTraits) + (
            (PoseCues, Keypoints) if body.available() else ())
        missing = {w for w in measurable if _needs(parsed, w.key) and not any(f.has(w) for f in stored)}
        if not missing:
            return stored
        out: list[Measured] = []
        for box, known in zip(request.boxes, stored):
            measured: dict[str, Offer | None] = {}
            if ClothingColours in missing:
                from refcli.features.colors import clothing_colours

                measured[ClothingColours.key] = ClothingColours.of(clothing_colours(request.image, box))
            if FaceTraits in missing:
                measured[FaceTraits.key] = FaceTraits.of(self._traits.read(request.image, box))
            if SeenFaces in missing:
                measured[SeenFaces.key] = SeenFaces(tuple(f.embedding for f in
                                                          self._faces.person_faces(request.image, box)))
            if PoseCues in missing or Keypoints in missing:
                found = body.offered(self._pose.estimate(request.image, box))
                measured.update({k: v for k, v in found.items() if k in {w.key for w in missing}})
            out.append(known.with_values(measured))
        return out

    @cached_property
    def _traits(self) -> Any:
        from refcli.features.face_traits import FaceReader

        return FaceReader()

    @cached_property
    def _faces(self) -> Any:
        from refcli.features.faces import FaceEncoder

        return FaceEncoder()

    @cached_property
    def _pose(self) -> Any:
        from refcli.features.pose import PoseEstimator

        return PoseEstimator()


def _needs(parsed: ParsedExpression, what: str) -> bool:
    if what == "colours":
        here = bool(parsed.colours)
    elif what == "names" or what == "faces":
        here = bool(parsed.names)
    elif what == "objects":
        here = bool(parsed.objects)
    elif what == "keypoints":
        here = bool(parsed.objects or parsed.people)
    elif what == "traits":
        here = bool(parsed.traits)
    else:
        names = POSE_CUES if what == "pose" else MOTION_CUES
        here = any(c.name in names for c in parsed.cues)
    return here or any(_needs(anchor, what) for anchor in parsed.anchors)


def _unmeasured(parsed: ParsedExpression, features: list[Measured]) -> tuple[str, ...]:
    """Phrases that need features nobody measured (faces not indexed, colours not stored)."""
    if not features:
        return ()
    missing = []
    if _needs(parsed, "colours") and not any(f.has(ClothingColours) for f in features):
        missing.append("clothing colours (not measured for this file: re-index it)")
    if _needs(parsed, "names") and not any(f.has(SeenFaces) for f in features):
        missing.append("faces (not indexed: run `refcli index --faces`)")
    if _needs(parsed, "pose") and not any(f.has(PoseCues) for f in features):
        from refcli.features.pose import available

        missing.append("body pose (not indexed: run `refcli index --pose`)" if available() else
                       "body pose (needs the pose extra: pip install 'refcli[pose]', then refcli index --pose)")
    if _needs(parsed, "traits") and not any(f.has(FaceTraits) for f in features):
        words = ", ".join(sorted({t.name for t in _all_traits(parsed)}))
        missing.append(f"{words} (read from faces: not measured for this file, re-index it)")
    if _needs(parsed, "motion") and not any(f.has(MotionCues) for f in features):
        missing.append("motion (measured on video tracks: index the video, or re-index it)")
    return tuple(missing)


def select(parsed: ParsedExpression, boxes: npt.NDArray[np.float32], size: tuple[int, int],
           features: Sequence[Measured] | None = None,
           gallery: Mapping[str, list[npt.NDArray[np.float32]]] | None = None,
           objects: Mapping[str, Sequence[tuple[Sequence[float], float]]] | None = None) -> list[int]:
    """Indexes of the boxes that satisfy every constraint, in candidate order."""
    if len(boxes) == 0:
        return []
    features = features if features is not None else [Measured() for _ in range(len(boxes))]
    centers = np.stack([(boxes[:, 0] + boxes[:, 2]) / 2, (boxes[:, 1] + boxes[:, 3]) / 2], axis=1)
    heights = boxes[:, 3] - boxes[:, 1]
    chosen = np.arange(len(boxes))
    # What a person is (names, clothes) narrows the set; where they are is judged among those.
    for name in parsed.names:
        chosen = np.array([i for i in chosen if _is_named(features[int(i)], (gallery or {}).get(name, []))],
                          np.int64)
    for clause in parsed.colours:
        chosen = np.array([i for i in chosen if _wears(features[int(i)], clause)], np.int64)
    for cue in parsed.cues:
        chosen = np.array([i for i in chosen if _shows(features[int(i)], cue)], np.int64)
    for trait in parsed.traits:
        chosen = np.array([i for i in chosen if _has(features[int(i)], trait)], np.int64)
    bodies = [Body(tuple(float(v) for v in boxes[i]), _keypoints(features[i]))  # type: ignore[arg-type]
              for i in range(len(boxes))] if parsed.objects or parsed.people else []
    for relation in parsed.objects:
        things = [box for box, score in (objects or {}).get(relation.object, ()) if score >= 0.5]
        chosen = np.array([i for i in chosen if _relates(relation, bodies, int(i), things)], np.int64)
    for together in parsed.people:
        groups = [set(select(a, boxes, size, features, gallery, objects)) for a in together.anchors]
        if together.relation == "near":
            chosen = _next_to(chosen, groups[0], boxes, centers, parsed.plural)
        else:
            chosen = np.array([i for i in chosen if with_people(together.relation, bodies, int(i), groups)], np.int64)
    ranked = parsed.count is not None and (parsed.positions or parsed.size)
    for position in parsed.positions:
        # "the person far away on the right": the right half, then the farthest there
        among = parsed.plural or (parsed.size is not None and position.rank is None)
        chosen = _apply(position, among, chosen, centers, size, parsed.count if ranked else None)
    if parsed.size is not None and len(chosen):
        order = np.argsort(-heights[chosen] if parsed.size == "near" else heights[chosen], kind="stable")
        if parsed.count:
            chosen = chosen[order[:parsed.count]]
        elif parsed.plural:
            median = float(np.median(heights[chosen]))
            chosen = chosen[heights[chosen] >= median] if parsed.size == "near" else chosen[heights[chosen] <= median]
        else:
            chosen = chosen[order[:1]]
    if parsed.count is not None and not ranked and len(chosen) != parsed.count:
        return []  # "the two people in red" when three wear red: which two is a guess
    return sorted(int(i) for i in chosen)


def _may_be_named(tracks: pa.Table, known: list[npt.NDArray[np.float32]]) -> npt.NDArray[np.bool_]:
    """A superset of ``_is_named`` on stored track rows, vectorised; where no face was indexed at
    all (no faces column), anyone (the referrer then says faces are not indexed)."""
    from refcli.features.faces import FACES_COLUMN, may_be_named

    if FACES_COLUMN not in tracks.column_names:
        return np.ones(tracks.num_rows, np.bool_)
    return may_be_named(tracks, known)


def _may_wear(tracks: pa.Table, clause: ColourClause) -> npt.NDArray[np.bool_]:
    """``_wears`` on stored track rows, vectorised (exact: the same shares and thresholds)."""
    from refcli.features.colors import colours_known, wearing

    present = [wearing(tracks, c, clause.part) for c in clause.colours]
    found = np.logical_or.reduce(present) if clause.any_of else np.logical_and.reduce(present)
    return colours_known(tracks) & (found != clause.negated)


def _may_have(tracks: pa.Table, trait: Trait) -> npt.NDArray[np.bool_]:
    """``_has`` on stored track rows, vectorised (exact: FaceTraits.holds' arithmetic)."""
    from refcli.features.face_traits import holding

    return holding(tracks, trait.name, trait.values) == (0 if trait.negated else 1)


def _keypoints(feature: Measured) -> Mapping[str, tuple[float, float]]:
    seen = feature.get(Keypoints)
    return seen.points if seen is not None else {}


def _is_named(feature: Measured, known: list[npt.NDArray[np.float32]]) -> bool:
    faces = feature.get(SeenFaces)
    return faces is not None and faces.match(known)


def _wears(feature: Measured, clause: ColourClause) -> bool:
    colours = feature.get(ClothingColours)
    if colours is None:  # grayscale picture or not measured: never claim a colour
        return False
    present = [colours.worn(c, clause.part) for c in clause.colours]
    found = any(present) if clause.any_of else all(present)
    return found != clause.negated


def _relates(relation: ObjectRelation, bodies: Sequence[Body], index: int, things: Sequence[Sequence[float]]) -> bool:
    """Whether person ``index`` stands in the relation to one of the things (a carried thing
    counts for the one person it belongs to most); unknown never matches."""
    if relation.relation in CARRIED:
        things = owned_by(things, bodies, index)
    answer = relates(relation.relation, bodies[index], things, relation.object)
    if answer is None:
        return False
    return answer != relation.negated


def _has(feature: Measured, trait: Trait) -> bool:
    """Whether a person's face shows a trait (a man: male and grown up); a face not seen, or
    one that does not say, never matches, negated or not."""
    traits = feature.get(FaceTraits)
    holds = None if traits is None else traits.holds(trait.name, trait.values)
    if holds is None:
        return False
    return holds != trait.negated


def _all_traits(parsed: ParsedExpression) -> tuple[Trait, ...]:
    return parsed.traits + tuple(t for anchor in parsed.anchors for t in _all_traits(anchor))


def _shows(feature: Measured, cue: Cue) -> bool:
    """Whether a person shows a pose or motion cue; an unknown cue never matches, negated or not."""
    cues: Cues | None = feature.get(PoseCues if cue.name in POSE_CUES else MotionCues)
    value, _confidence = cues.get(cue.name) if cues is not None else ("unknown", 0.0)
    return _holds(cue, value)


def _holds(cue: Cue, value: str) -> bool:
    """Whether a cue read as ``value`` meets ``cue``; unknown never does, negated or not."""
    if value == "unknown":
        return False
    holds = value == cue.value or (cue.value == "any" and value in ("one", "both"))
    return holds != cue.negated


def _may_show(tracks: pa.Table, cue: Cue) -> npt.NDArray[np.bool_]:
    """Whether ``_shows`` may hold for a track at one of its moments, on stored track rows (with
    the motion column or the poses: refcli.features.pose.with_poses); where it was not measured,
    True."""
    from refcli.features.motion import shown_in_motion
    from refcli.features.pose import shown_in_poses

    shown = shown_in_motion if cue.name in MOTION_CUES else shown_in_poses
    return shown(tracks, cue.name, lambda value: _holds(cue, value))


_MEASURED_BY = {"faces": FACES_COLUMN, "pose": POSES_COLUMN, "motion": "motion"}
"""The track column (or the one attached from a feature's table) that says whether ``what`` was measured."""


def _not_measured(tracks: pa.Table, what: str) -> npt.NDArray[np.bool_]:
    """Track rows whose faces (none indexed in the archive: no faces column), pose (the content
    indexed without it) or motion (indexed before it was measured) were not measured: the reader
    offers nothing there, and the referrer says so."""
    if _MEASURED_BY[what] not in tracks.column_names:
        return np.ones(tracks.num_rows, np.bool_)
    return tracks.column(_MEASURED_BY[what]).is_null().to_numpy(zero_copy_only=False)


def _next_to(chosen: np.ndarray, anchors: set[int], boxes: npt.NDArray[np.float32], centers: np.ndarray,
             plural: bool) -> np.ndarray:
    """People beside an anchor: within 3 box widths sideways and overlapping it vertically by 30%;
    the nearest one for a singular subject."""
    if not anchors:
        return chosen[:0]
    near: list[tuple[float, int]] = []
    for i in chosen:
        if int(i) in anchors:
            continue
        best = None
        for a in anchors:
            width = max(boxes[i, 2] - boxes[i, 0], boxes[a, 2] - boxes[a, 0])
            overlap = min(boxes[i, 3], boxes[a, 3]) - max(boxes[i, 1], boxes[a, 1])
            gap = abs(centers[i, 0] - centers[a, 0])
            if gap <= 3 * width and overlap >= 0.3 * min(boxes[i, 3] - boxes[i, 1], boxes[a, 3] - boxes[a, 1]):
                best = gap if best is None else min(best, gap)
        if best is not None:
            near.append((float(best), int(i)))
    if not near:
        return chosen[:0]
    near.sort()
    return np.array([i for _, i in near] if plural else [near[0][1]], np.int64)


def _apply(position: Position, plural: bool, chosen: np.ndarray, centers: np.ndarray,
           size: tuple[int, int], count: int | None = None) -> np.ndarray:
    if len(chosen) == 0:
        return chosen
    if position.side == "middle":
        return _middle(plural, chosen, centers, size)
    if " " in position.side:
        return _corner(position.side, plural, chosen, centers, size)
    axis, descending = _AXIS[position.side]
    values = centers[chosen, axis]
    order = np.argsort(-values if descending else values, kind="stable")
    if count is not None and position.rank in (None, 1):
        return chosen[order[:count]] if count <= len(order) else chosen[:0]  # "the two leftmost people"
    in_half = values > size[axis] / 2 if descending else values < size[axis] / 2
    if position.rank is None:
        if plural:
            return chosen[in_half]  # "people on the left": everyone in the left half
        if len(chosen) == 1:
            return chosen[in_half]  # a lone person is "on the left" only if they are
        rank = 1  # "the person on the left" among several: the leftmost
    else:
        rank = position.rank
    return chosen[order[rank - 1:rank]] if rank <= len(order) else chosen[:0]


def _corner(corner: str, plural: bool, chosen: np.ndarray, centers: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """People in a corner's quarter of the picture; for a singular subject, the one nearest the corner."""
    vertical, horizontal = corner.split()
    w, h = size
    x, y = centers[chosen, 0], centers[chosen, 1]
    upper = (y < h / 2) if vertical == "top" else (y > h / 2)
    inside = upper & ((x > w / 2) if horizontal == "right" else (x < w / 2))
    if plural or not inside.any():
        return chosen[inside]
    cx, cy = (w if horizontal == "right" else 0), (0 if vertical == "top" else h)
    distance = np.where(inside, np.hypot(x - cx, y - cy), np.inf)
    best = int(np.argmin(distance))
    return chosen[best:best + 1]


def _middle(plural: bool, chosen: np.ndarray, centers: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    x = centers[chosen, 0]
    central = np.abs(x - size[0] / 2) < size[0] / 6  # the middle third
    if plural:
        return chosen[central]
    best = int(np.argmin(np.abs(x - size[0] / 2)))
    return chosen[best:best + 1] if central[best] else chosen[:0]
