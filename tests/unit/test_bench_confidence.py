"""bench/answer_confidence.py: the confidence features and their analysis (no model)."""

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))

import answer_confidence as ac  # noqa: E402


def test_features_read_the_first_sentence_only():
    pieces = ["Brian", " Greig", " was", " named", " [", "1", "]."]
    logps = [-0.5, -0.1, -0.2, -0.3, -9.0, -9.0, -9.0]
    gaps = [1.0, 2.0, 0.5, 3.0, -1.0, -1.0, -1.0]
    f = ac.features(logps, gaps, pieces)
    assert f["min"] == -0.5 and f["sum"] == pytest.approx(-1.1) and f["mean"] == pytest.approx(-0.275)
    assert f["named_min"] == -0.5 and f["named_mean"] == pytest.approx(-0.3)  # "Brian", " Greig"
    assert f["first"] == -0.5 and f["gap_min"] == 0.5


def test_auc_counts_ties_half():
    assert ac.auc([3, 4], [1, 2]) == 1.0
    assert ac.auc([1], [2]) == 0.0
    assert ac.auc([1, 2], [2]) == 0.25


def _row(answerable, correct, value, *, abstained=False, quoted=False):
    extra = {"conf_min_margin": value, "judge_margin": 1.0}
    if quoted:
        extra["answered_by"] = "quote"
    return {"answerable": answerable, "correct": correct, "abstained": abstained, "extra": extra}


def test_analyse_finds_the_threshold_that_pays_and_scores_withholding_as_the_points_do():
    report = {"seeds": {"per_question": [
        _row(True, True, -0.1), _row(True, True, -0.2),
        _row(False, False, -3.0), _row(False, False, -2.5),  # two unanswerable ones, least sure
        _row(True, False, -2.8),  # a wrong answer among them: withholding it costs its right abstention
        _row(False, False, -9.0, abstained=True),  # abstentions and quoted answers are not scored
        _row(False, False, -9.0, quoted=True)]}}
    by = {r["feature"]: r for r in ac.analyse(report)}
    best = by["min"]
    assert best["answers"] == {"right": 2, "unanswerable": 2, "wrong": 1}
    assert best["auc_unanswerable"] == 1.0 and best["auc_wrong"] == 1.0
    assert best["best_threshold"] == -2.8 and best["gain"] == {"seeds": 1} and best["dev_gain"] == 1
    assert by["mean"]["best_threshold"] is None  # no such feature recorded: nothing gains
    assert by["judge"]["dev_gain"] == 0  # equal margins separate nothing
