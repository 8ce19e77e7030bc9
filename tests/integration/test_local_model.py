"""The packaged local model for real: Qwen2.5-Coder-1.5B via llama.cpp answers seed and au-news questions
with verified citations, offline (its assembly from parts: tests/unit/test_local_model_assembly.py)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import jsonschema
import pytest
from support import ROOT, VENV_BIN
from test_ask_eval import ASK_SCHEMA

from assistant.models import local as local_model

# ---------------------------------------------------------------------------- the real model
SMOKE = [("According to the deputy foreign minister's remarks in early February, how many ISIS captives had been "
          "brought into Iraq?", "450", "003_0e26de0699d51022.txt"),
         ("How many Iranian convicts were sent home from Iraq so they could finish their jail terms nearer to "
          "their families?", "130", "000_9b2a7a8087030aa2.txt")]


@pytest.fixture(scope="module")
def local_settings(real_index):
    if not local_model.is_installed():
        pytest.fail("the local-llm extra is not installed (make test installs it)")
    from assistant.settings import Settings

    return Settings.from_env(env={}, index_dir=real_index, llm="local")


@pytest.mark.slow
def test_real_local_model_answers_seed_questions_with_verified_citations(local_settings):
    from assistant.pipeline import Assistant

    assistant = Assistant(local_settings)
    assert assistant.engine.name == "local" and assistant.engine.model_name == local_model.MODEL_NAME
    for question, expected, doc_id in SMOKE:
        ans = assistant.ask(question)
        assert expected in ans.answer.replace(",", ""), ans.answer
        assert "answered_by" not in ans.extra, ans.extra  # the model's own answer, not the quoted fallback
        assert ans.grounded and ans.invalid_citations == 0 and ans.citations, ans.to_json()
        assert doc_id in {c.doc_id for c in ans.citations}
        for c in ans.citations:
            assert f"[{c.n}]" in ans.answer and c.quote
        # opening the citation shows the sentence with the figure (rule "quote-facts")
        assert any(expected in c.quote.replace(",", "") for c in ans.citations if c.doc_id == doc_id), ans.to_json()
        assert ans.timings_ms["first_token"] <= ans.timings_ms["total"]
    # an unanswerable one: the model reads the passages (there is no gate in front of it) and the reply
    # abstains with no citation and no quote, declined by the model or, when it invents an age (the
    # 1.5B model does: "Igor Zubov is 50 years old. [2]"), withheld by verification ("withhold-invented")
    unanswerable = assistant.ask("How old is Russia's deputy interior minister Igor Zubov?")
    assert unanswerable.abstained and unanswerable.citations == [], unanswerable.to_json()
    assert "answered_by" not in unanswerable.extra and unanswerable.extra["raw_answer"].strip()
    withheld = unanswerable.extra.get("withheld_answer")
    assert withheld is None or any(ch.isdigit() for ch in withheld), withheld


AU_NEWS_SMOKE = [("Which presidential spokesman condemned the raids on Georgian villages?", "Fleischer", "abc_04.txt"),
                 ("What is the value of the economic pact Moscow and Baghdad are about to conclude?", "40 billion",
                  "abc_10.txt"),
                 ("How many suspected warheads turned up at the Canadian's counter-terror training site in New "
                  "Mexico?", "2,300", "abc_26.txt")]


@pytest.mark.slow
def test_real_local_model_answers_au_news_questions_with_verified_citations(au_news_index):
    """Three questions of the real development corpus (50 articles, no titles, no dates)."""
    from assistant.apps.evaluation import first_sentence, words
    from assistant.pipeline import Assistant
    from assistant.settings import Settings

    assistant = Assistant(Settings.from_env(env={}, index_dir=au_news_index, llm="local"))
    for question, expected, doc_id in AU_NEWS_SMOKE:
        ans = assistant.ask(question)
        assert expected in first_sentence(ans.answer), ans.answer  # the direct answer comes first
        assert words(first_sentence(ans.answer)) <= 18
        assert "answered_by" not in ans.extra, ans.extra  # the model's own words
        assert ans.grounded and ans.invalid_citations == 0 and ans.unsupported_sentences == [], ans.to_json()
        assert doc_id in {c.doc_id for c in ans.citations}
        for c in ans.citations:
            assert f"[{c.n}]" in ans.answer and c.quote
        # opening the citation shows the sentence with the name or figure (rule "quote-facts")
        assert any(expected in c.quote for c in ans.citations if c.doc_id == doc_id), ans.to_json()


@pytest.mark.slow
def test_real_local_model_says_how_sure_it_is_of_a_yes(local_settings):
    """yes_no_margin (rule "withhold-judged") reads the first reply token's log P(Yes) - log P(No):
    clearly positive for a true statement, clearly negative for a false one, and the same when asked
    again (greedy, nothing sampled), also after the cache holds another conversation."""
    from langchain_core.messages import HumanMessage, SystemMessage

    from assistant.pipeline import Assistant

    model = Assistant(local_settings).engine.model
    ask = lambda claim: model.yes_no_margin([SystemMessage(content="You check statements."),  # noqa: E731
                                             HumanMessage(content=f"Is it true that {claim}? Reply Yes or No.")])
    true, false = ask("seven is greater than three"), ask("three is greater than seven")
    assert true > 1.0 and false < -1.0, (true, false)
    assert abs(ask("seven is greater than three") - true) < 0.05


@pytest.mark.slow
def test_real_local_model_offline_from_the_cli(local_settings, tmp_path):
    """A third seed question through `assistant ask --json` with the network cut (unshare -n)."""
    if os.geteuid() != 0 or not shutil.which("unshare"):
        pytest.skip("needs root and unshare to cut the network")
    env = {**os.environ, "ASSISTANT_INDEX_DIR": str(local_settings.index_dir), "ASSISTANT_LLM": "local",
           "HF_HUB_OFFLINE": "", "TRANSFORMERS_OFFLINE": "", "PYTHONPATH": str(ROOT)}
    question = "At which frontier post did the Iran-Iraq handover of inmates take place?"
    out = subprocess.run(["unshare", "-n", str(VENV_BIN / "assistant"), "ask", "--json", question],
                         capture_output=True, text=True, env=env, timeout=600, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    ans = json.loads(out.stdout)
    jsonschema.validate(ans, ASK_SCHEMA)
    assert "Mehran" in ans["answer"] and ans["engine"] == "local" and ans["model"] == local_model.MODEL_NAME
    assert "answered_by" not in ans  # written by the model, not quoted
    assert ans["grounded"] and ans["invalid_citations"] == 0
    assert "000_9b2a7a8087030aa2.txt" in {c["doc_id"] for c in ans["citations"]}
    assert ans["timings_ms"]["first_token"] > 0
