"""Settings: environment, CLI overrides, clear errors, and the README's table kept true."""

from __future__ import annotations

from pathlib import Path

import pytest
from support import ROOT

from assistant.errors import SettingsError
from assistant.settings import Settings


def test_env_and_overrides():
    s = Settings.from_env(env={"ASSISTANT_K": "7", "ASSISTANT_INDEX_DIR": "/x/idx", "ASSISTANT_MODE": "bm25"})
    assert (s.k, s.index_dir, s.mode) == (7, Path("/x/idx"), "bm25")
    assert s.with_overrides(k=2, mode=None).k == 2  # None means "flag not given"


@pytest.mark.parametrize("env,match", [({"ASSISTANT_K": "many"}, "ASSISTANT_K: expected int"),
                                       ({"ASSISTANT_MODE": "magic"}, "ASSISTANT_MODE: unknown retrieval mode"),
                                       ({"ASSISTANT_CHUNK_OVERLAP": "500"}, "ASSISTANT_CHUNK_OVERLAP"),
                                       ({"ASSISTANT_UI_REFUSAL_DELAY": "-1"},
                                        "ASSISTANT_UI_REFUSAL_DELAY: must not be negative"),
                                       ({"ASSISTANT_UI_LOGIN_DELAY": "nan"},
                                        "ASSISTANT_UI_LOGIN_DELAY: must not be negative"),
                                       ({"ASSISTANT_CONTEXT_FLOOR": "1.5"},
                                        r"ASSISTANT_CONTEXT_FLOOR: must be in \[0, 1\]"),
                                       ({"ASSISTANT_CONTEXT_FLOOR": "nan"}, "ASSISTANT_CONTEXT_FLOOR")])
def test_bad_values_name_the_variable(env, match):
    with pytest.raises(SettingsError, match=match):
        Settings.from_env(env=env)


def test_readme_lists_every_setting():
    readme = (ROOT / "README.md").read_text()
    for env, _, _ in Settings.describe():
        assert f"`{env}`" in readme, env


def test_prompts_dir_setting(tmp_path, monkeypatch):
    from assistant.answering.prompts import load_prompt

    assert "{question}" in load_prompt("answer")
    (tmp_path / "answer.txt").write_text("custom {question}")
    monkeypatch.setenv("ASSISTANT_PROMPTS_DIR", str(tmp_path))
    assert load_prompt("answer") == "custom {question}"
    with pytest.raises(FileNotFoundError, match="prompt 'nope' not found"):
        load_prompt("nope")


def test_rules_are_named_and_an_unknown_one_is_refused():
    from assistant.errors import SettingsError
    from assistant.rules import RULES, Rules
    from assistant.settings import Settings

    s = Settings.from_env(env={"ASSISTANT_DISABLED_RULES": "focus, kind-age"})
    rules = Rules(s.disabled_rules)
    assert not rules.on("focus") and rules.on("second-sentence") and "age" not in rules.kinds
    assert all(RULES.values())  # every rule says what it does
    with pytest.raises(SettingsError, match="ASSISTANT_DISABLED_RULES: unknown rule 'no-such-rule'"):
        Settings.from_env(env={"ASSISTANT_DISABLED_RULES": "no-such-rule"})
