"""HumanRef scoring, exactly as the reference implementation scores it, plus what it leaves out.

Reference: ``rexseek/metric/recall_precision_densityf1.py`` in IDEA-Research/RexSeek. Per
expression and IoU threshold 0.50, 0.55, ..., 0.95 (built with ``np.arange(0.5, 1.0, 0.05)``
as there, float steps included), each ground-truth box is matched greedily, in order, to the
unused prediction with the highest IoU at or above the threshold; recall = matches/|GT|,
precision = matches/|pred|, both 0 without predictions; DensityF1 = F1 x min(1, |GT|/|pred|)
(via the reference's density ratios over |candidates|, so it is 0 when an image has no
candidate boxes). Means are taken over expressions per domain, sub-domain and GT-count bucket.
Expressions of the "rejection" domain only count whether the prediction is empty.

Reference quirks followed for their scores (each has a test in tests/unit/test_evaluate.py):
- a prediction of ``[[]]`` is empty; in the rejection domain so is any list whose first box is
  empty;
- an expression with no prediction line scores as an empty prediction, so a missing line is a
  correct rejection (refcli also counts missing lines);
- an expression outside the rejection domain with no GT boxes crashes the reference (a
  3-tuple is unpacked into two names); refcli scores what the code means: recall 1, precision
  1 if the prediction is empty else 0, DensityF1 by the usual formula;
- the reference crashes when the first prediction line is empty (it looks at
  ``pred_data[0]["extracted_predictions"][0]`` to tell boxes from points); refcli does not.
  Point predictions (2 numbers) need the masks and are refused with a clear message.
- sub-domains are keyed by name alone, as there.

Added, because a backend can win rejection by answering nothing: abstentions (expressions a
backend declared unsupported, from the prediction's ``unsupported`` field) are counted apart
from judged rejections and from misses; and the candidate-recall ceiling: the share of GT
boxes that some candidate covers at IoU >= 0.5, so detector misses are not blamed on the
referrer.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from refcli.detections import box_iou
from refcli.errors import RefcliError

THRESHOLDS = [float(t) for t in np.arange(0.5, 1.0, 0.05)]
BUCKETS = ("1", "2-5", "6-10", ">10")
Box = Sequence[float]


class EvalError(RefcliError):
    """Annotation or prediction files that cannot be scored."""


@dataclass(frozen=True)
class Annotation:
    id: Any
    image_name: str
    domain: str
    sub_domain: str
    referring: str
    answer_boxes: list[list[float]]
    candidate_boxes: list[list[float]]
    # refcli's extension, ignored by the reference: the image is the frame at `time` seconds of
    # `video` (relative to the image folder), so that motion can be judged from that video's tracks.
    video: str | None = None
    time: float | None = None


@dataclass(frozen=True)
class Prediction:
    id: Any
    boxes: list[list[float]]
    unsupported: list[str] = field(default_factory=list)
    candidates: list[list[float]] | None = None


def _jsonl(path: str) -> Iterable[tuple[int, dict[str, Any]]]:
    try:
        with open(path, encoding="utf-8") as f:
            for number, line in enumerate(f, 1):
                if line.strip():
                    try:
                        yield number, json.loads(line)
                    except json.JSONDecodeError as err:
                        raise EvalError(f"{path}:{number}: not JSON ({err.msg})") from None
    except OSError as err:
        raise EvalError(f"cannot read {path}: {err.strerror}") from None


def load_annotations(path: str) -> list[Annotation]:
    out = []
    for number, row in _jsonl(path):
        try:
            out.append(Annotation(row["id"], row["image_name"], row["domain"], row["sub_domain"],
                                  row["referring"], row.get("answer_boxes") or [], row.get("candidate_boxes") or [],
                                  row.get("video"), row.get("time")))
        except KeyError as err:
            raise EvalError(f"{path}:{number}: annotation without {err.args[0]!r}") from None
    if not out:
        raise EvalError(f"{path} holds no annotations")
    return out


def load_predictions(path: str) -> dict[Any, Prediction]:
    out = {}
    for number, row in _jsonl(path):
        if "id" not in row or "extracted_predictions" not in row:
            raise EvalError(f"{path}:{number}: a prediction needs 'id' and 'extracted_predictions'")
        boxes = row["extracted_predictions"] or []
        if any(len(b) == 2 for b in boxes):
            raise EvalError(f"{path}:{number}: point predictions are not supported (they need the masks)")
        out[row["id"]] = Prediction(row["id"], boxes, row.get("unsupported") or [], row.get("candidates"))
    return out


def matches(gt: Sequence[Box], pred: Sequence[Box], threshold: float) -> int:
    """Greedy one-to-one matching in GT order, as the reference does it."""
    used: set[int] = set()
    count = 0
    for g in gt:
        best, best_iou = -1, 0.0
        for i, p in enumerate(pred):
            if i in used:
                continue
            iou = box_iou(g, p)
            if iou > best_iou and iou >= threshold:
                best, best_iou = i, iou
        if best != -1:
            used.add(best)
            count += 1
    return count


def recall_precision(gt: Sequence[Box], pred: Sequence[Box], threshold: float) -> tuple[float, float]:
    if len(gt) == 0:
        return 1.0, (1.0 if len(pred) == 0 else 0.0)
    if len(pred) == 0 or (len(pred) == 1 and len(pred[0]) == 0):
        return 0.0, 0.0
    m = matches(gt, pred, threshold)
    return m / len(gt), m / len(pred)


def density_f1(precision: float, recall: float, gt_count: int, pred_count: int, total_persons: int) -> float:
    if precision + recall == 0:
        return 0.0
    f1 = 2 * precision * recall / (precision + recall)
    gt_ratio = gt_count / total_persons if total_persons > 0 else 0.0
    pred_ratio = pred_count / total_persons if total_persons > 0 else 0.0
    return f1 * (min(1.0, gt_ratio / pred_ratio) if pred_ratio > 0 else 0.0)


@dataclass(frozen=True)
class ExpressionScore:
    recall_50: float
    precision_50: float
    recall_mean: float
    precision_mean: float
    density_f1_50: float
    density_f1_mean: float

    FIELDS = ("recall_50", "recall_mean", "precision_50", "precision_mean", "density_f1_50", "density_f1_mean")


def score_expression(gt: Sequence[Box], pred: Sequence[Box], total_persons: int) -> ExpressionScore:
    recalls, precisions, f1s = [], [], []
    for t in THRESHOLDS:
        r, p = recall_precision(gt, pred, t)
        recalls.append(r)
        precisions.append(p)
        f1s.append(density_f1(p, r, len(gt), len(pred), total_persons))
    # THRESHOLDS[0] is 0.5: the "@0.5" scores are the first of the sweep
    return ExpressionScore(recalls[0], precisions[0], float(np.mean(recalls)), float(np.mean(precisions)),
                           f1s[0], float(np.mean(f1s)))


def bucket(count: int) -> str:
    return "1" if count == 1 else "2-5" if count <= 5 else "6-10" if count <= 10 else ">10"


def is_rejected(pred: Sequence[Box]) -> bool:
    return len(pred) == 0 or len(pred[0]) == 0


@dataclass
class ModelReport:
    """Everything `refcli eval score` reports for one predictions file."""

    name: str
    domains: dict[str, dict[str, float]] = field(default_factory=dict)
    subdomains: dict[str, dict[str, float]] = field(default_factory=dict)
    subdomain_of: dict[str, str] = field(default_factory=dict)
    buckets: dict[str, dict[str, float]] = field(default_factory=dict)
    average: dict[str, float] = field(default_factory=dict)
    rejection: dict[str, int] = field(default_factory=dict)
    abstentions: dict[str, int] = field(default_factory=dict)
    candidate_ceiling: dict[str, float] = field(default_factory=dict)
    missing: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "average": self.average, "domains": self.domains, "subdomains": self.subdomains,
                "box_counts": self.buckets, "rejection": self.rejection, "abstentions": self.abstentions,
                "candidate_ceiling": self.candidate_ceiling, "missing_predictions": self.missing}


def _mean(scores: list[ExpressionScore]) -> dict[str, float]:
    row = {f: float(np.mean([getattr(s, f) for s in scores])) for f in ExpressionScore.FIELDS}
    row["samples"] = len(scores)
    return row


def evaluate(annotations: Sequence[Annotation], predictions: dict[Any, Prediction], name: str) -> ModelReport:
    report = ModelReport(name)
    by_domain: dict[str, list[ExpressionScore]] = defaultdict(list)
    by_sub: dict[str, list[ExpressionScore]] = defaultdict(list)
    by_bucket: dict[str, list[ExpressionScore]] = defaultdict(list)
    covered: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    rejection = {"total": 0, "correct": 0, "abstained": 0, "correct_by_judgement": 0}
    abstentions: dict[str, int] = defaultdict(int)
    for ann in annotations:
        prediction = predictions.get(ann.id)
        if prediction is None:
            report.missing += 1
        pred = prediction.boxes if prediction else []
        abstained = bool(prediction and prediction.unsupported)
        abstentions[ann.domain] += abstained
        if ann.domain == "rejection":
            rejection["total"] += 1
            if is_rejected(pred):
                rejection["correct"] += 1
                rejection["abstained"] += abstained
                rejection["correct_by_judgement"] += not abstained
            continue
        score = score_expression(ann.answer_boxes, pred, len(ann.candidate_boxes))
        by_domain[ann.domain].append(score)
        by_sub[ann.sub_domain].append(score)
        report.subdomain_of.setdefault(ann.sub_domain, ann.domain)
        by_bucket[bucket(len(ann.answer_boxes))].append(score)
        candidates = prediction.candidates if prediction and prediction.candidates is not None \
            else ann.candidate_boxes
        for g in ann.answer_boxes:
            hit = any(box_iou(g, c) >= 0.5 for c in candidates)
            for key in (ann.domain, "all"):
                covered[key][0] += hit
                covered[key][1] += 1
    report.domains = {d: _mean(s) for d, s in sorted(by_domain.items())}
    report.subdomains = {d: _mean(s) for d, s in sorted(by_sub.items())}
    report.buckets = {b: _mean(by_bucket[b]) for b in BUCKETS if by_bucket.get(b)}
    everything = [s for scores in by_domain.values() for s in scores]
    report.average = _mean(everything) if everything else {}
    report.rejection = rejection
    report.abstentions = dict(sorted(abstentions.items()))
    report.candidate_ceiling = {k: v[0] / v[1] for k, v in sorted(covered.items()) if v[1]}
    return report
