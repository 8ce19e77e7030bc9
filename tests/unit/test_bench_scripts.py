"""The bench scripts' own arithmetic (no model): bench/answer_confidence.py's features and analysis,
bench/first_token.py's summary."""

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))

import answer_confidence as ac  # noqa: E402
import first_token  # noqa: E402


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


def test_first_token_summary_pairs_each_question():
    keys = ("local_first_ms", "tutorial_first_ms", "local_total_ms", "tutorial_total_ms")
    rows = [dict(zip(keys, v, strict=True)) for v in ((400.0, 1000.0, 900.0, 1200.0), (600.0, 1000.0, 1000.0, 1300.0),
                                                      (500.0, 2000.0, 800.0, 2500.0))]
    s = first_token.summarize(rows)
    assert s["local_first_p50_ms"] == 500.0 and s["tutorial_first_p50_ms"] == 1000.0 and s["ratio_of_p50"] == 0.5
    assert s["median_ratio"] == 0.4  # 0.4, 0.6, 0.25: the paired ratios, not the ratio of the medians
    assert s["at_most_half"] == 2 and s["local_total_p50_ms"] == 900.0 and s["tutorial_total_p50_ms"] == 1300.0
