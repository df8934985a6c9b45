"""HumanRef scoring on small synthetic files with values computed by hand.

The implementation was also checked against the reference code (RexSeek's
recall_precision_densityf1.py, run outside this repository) on 3,000 random expressions:
identical domain, bucket and rejection scores.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from refcli.evaluate import (
    THRESHOLDS,
    Annotation,
    EvalError,
    Prediction,
    evaluate,
    load_predictions,
    score_expression,
)

A = [0.0, 0.0, 10.0, 10.0]
B = [20.0, 0.0, 30.0, 10.0]
C = [40.0, 0.0, 50.0, 10.0]


def ann(i, gt, domain="position", sub="inner", candidates=None):
    return Annotation(i, "img.jpg", domain, sub, "the person", gt, candidates if candidates is not None else [A, B, C])


def test_thresholds_are_the_references_float_steps() -> None:
    assert len(THRESHOLDS) == 10 and THRESHOLDS[0] == 0.5 and THRESHOLDS[4] > 0.7  # 0.7000000000000002


def test_perfect_match() -> None:
    s = score_expression([A], [A], total_persons=3)
    assert (s.recall_50, s.precision_50, s.recall_mean, s.precision_mean, s.density_f1_mean) == (1, 1, 1, 1, 1)


def test_over_prediction_pays_the_density_penalty() -> None:
    s = score_expression([A], [A, B], total_persons=4)
    assert (s.recall_mean, s.precision_mean) == (1.0, 0.5)
    # F1 = 2 * 0.5 * 1 / 1.5 = 2/3; penalty = min(1, (1/4) / (2/4)) = 1/2
    assert s.density_f1_mean == pytest.approx(1 / 3)


@pytest.mark.parametrize(("height", "recall_mean"), [
    (4.9, 0.0),   # IoU 0.49: under 0.5, nothing matches
    (5.0, 0.1),   # IoU 0.50: matches at 0.5 only
    (7.0, 0.4),   # IoU exactly 0.70: the reference's 0.7 threshold is 0.7000000000000002, so 4 of 10
    (7.1, 0.5),   # IoU 0.71: 5 of 10
])
def test_iou_just_under_and_over_thresholds(height: float, recall_mean: float) -> None:
    s = score_expression([A], [[0.0, 0.0, 10.0, height]], total_persons=3)
    assert s.recall_mean == pytest.approx(recall_mean)
    assert s.recall_50 == (1.0 if height >= 5.0 else 0.0)


def test_duplicate_predictions_match_once() -> None:
    one = score_expression([A], [A, A], total_persons=2)
    assert (one.recall_50, one.precision_50) == (1.0, 0.5)
    assert one.density_f1_50 == pytest.approx(2 / 3 * 0.5)
    two = score_expression([A, B], [A, A], total_persons=2)
    assert (two.recall_50, two.precision_50, two.density_f1_50) == (0.5, 0.5, 0.5)


def test_matching_is_greedy_in_gt_order() -> None:
    """Not an optimal assignment: the first GT box takes its best prediction even when that
    leaves the second GT box without one (an optimal matching would find 2 pairs here)."""
    gt = [A, [0.0, 2.0, 10.0, 8.0]]
    p1, p2 = [0.0, 0.0, 10.0, 6.0], [0.0, 0.0, 10.0, 5.5]  # IoU with A: 0.6 and 0.55
    # IoU with the second GT box: p1 0.5 (matches), p2 0.4375 (does not)
    s = score_expression(gt, [p1, p2], total_persons=3)
    assert s.recall_50 == 0.5 and s.precision_50 == 0.5


@pytest.mark.parametrize("pred", [[], [[]]])
def test_empty_prediction_scores_zero(pred) -> None:
    s = score_expression([A], pred, total_persons=3)
    assert (s.recall_50, s.precision_50, s.density_f1_mean) == (0.0, 0.0, 0.0)


def test_no_candidate_boxes_means_no_density_f1() -> None:
    """Reference quirk: density ratios divide by |candidates|; with none the penalty is 0."""
    s = score_expression([A], [A], total_persons=0)
    assert (s.recall_50, s.precision_50, s.density_f1_50) == (1.0, 1.0, 0.0)


def test_empty_gt_outside_rejection_follows_what_the_reference_means() -> None:
    """The reference crashes here (unpacks a 3-tuple); refcli scores its intent."""
    assert (score_expression([], [], 3).recall_50, score_expression([], [], 3).precision_50) == (1.0, 1.0)
    assert score_expression([], [A], 3).precision_50 == 0.0
    assert score_expression([], [], 3).density_f1_50 == 0.0  # no GT density: penalty 0


def test_rejection_right_wrong_missing_and_abstained() -> None:
    anns = [ann(i, [], domain="rejection", sub="rej") for i in range(6)]
    preds = {
        0: Prediction(0, []),                       # right
        1: Prediction(1, [A]),                      # wrong
        2: Prediction(2, [[]]),                     # right: [[]] is empty
        3: Prediction(3, [[], A]),                  # right: the reference only looks at the first box
        4: Prediction(4, [], unsupported=["riding a horse"]),  # right, but by abstaining
    }                                               # 5: no line at all -> right (reference quirk)
    report = evaluate(anns, preds, "m")
    assert report.rejection == {"total": 6, "correct": 5, "abstained": 1, "correct_by_judgement": 4}
    assert report.missing == 1
    assert report.domains == {} and report.average == {}


def test_aggregation_by_domain_subdomain_bucket_and_abstentions() -> None:
    anns = [
        ann(1, [A], sub="inner"),                               # perfect
        ann(2, [A, B], sub="outer"),                            # half
        ann(3, [B], domain="attribute", sub="attr"),            # abstained: empty answer
        ann(4, [], domain="rejection", sub="rej"),
    ]
    preds = {1: Prediction(1, [A]), 2: Prediction(2, [A]), 3: Prediction(3, [], unsupported=["in red"]),
             4: Prediction(4, [B])}
    r = evaluate(anns, preds, "m")
    assert r.domains["position"]["recall_50"] == pytest.approx((1.0 + 0.5) / 2)
    assert r.domains["position"]["precision_50"] == pytest.approx(1.0)
    assert r.subdomains["outer"]["recall_50"] == 0.5 and r.subdomain_of["outer"] == "position"
    assert r.buckets["1"]["samples"] == 2 and r.buckets["2-5"]["samples"] == 1
    assert r.average["samples"] == 3  # rejection expressions are not averaged in
    assert r.average["recall_50"] == pytest.approx(1.5 / 3)
    assert r.abstentions == {"attribute": 1, "position": 0, "rejection": 0}
    assert r.rejection["correct"] == 0


def test_candidate_recall_ceiling_uses_the_predictions_own_candidates() -> None:
    anns = [ann(1, [A, B], candidates=[A, B]), ann(2, [C], domain="attribute", candidates=[C])]
    from_benchmark = evaluate(anns, {}, "m")
    assert from_benchmark.candidate_ceiling["all"] == 1.0
    detector_saw = {1: Prediction(1, [], candidates=[A]), 2: Prediction(2, [], candidates=[])}
    r = evaluate(anns, detector_saw, "m")
    assert r.candidate_ceiling == {"all": pytest.approx(1 / 3), "attribute": 0.0, "position": 0.5}


def test_bad_prediction_files_are_clear_errors(tmp_path: Path) -> None:
    bad = tmp_path / "p.jsonl"
    bad.write_text('{"id": 1, "extracted_predictions": [[1, 2]]}\n')
    with pytest.raises(EvalError, match="point predictions are not supported"):
        load_predictions(str(bad))
    bad.write_text('{"id": 1}\n')
    with pytest.raises(EvalError, match="needs 'id' and 'extracted_predictions'"):
        load_predictions(str(bad))
    bad.write_text("not json\n")
    with pytest.raises(EvalError, match=":1: not JSON"):
        load_predictions(str(bad))
    first_empty = tmp_path / "q.jsonl"  # crashes the reference (it inspects the first box)
    first_empty.write_text(json.dumps({"id": 1, "extracted_predictions": []}) + "\n")
    assert load_predictions(str(first_empty))[1].boxes == []
