"""Answers that stay on topic as the corpus grows: six short articles related to the seeds (other countries,
other transfers, other figures: bench/corpora/seed-neighbours) change almost none of the seed questions'
answers, and none from right to wrong (the real embedding model, the extractive engine)."""

from __future__ import annotations

import sys

from support import ROOT

sys.path.insert(0, str(ROOT / "bench"))


def test_six_related_articles_leave_the_seed_answers_standing():
    from neighbours import compare

    out = compare("extractive", show=True)
    assert out["questions"] == 51
    assert out["right_grown"] >= out["right_alone"]  # nothing right became wrong in sum
    assert out["same_text"] >= 45 and out["same_first_sentence"] >= 46
