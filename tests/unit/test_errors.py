"""One error family: every error a user can cause is an AssistantError with a one-line message, and
the CLI and the UI catch that one class."""

from __future__ import annotations

import inspect

import pytest

from assistant import errors
from assistant.apps import cli
from assistant.apps.ui import app as ui


def user_errors():
    return [c for _, c in inspect.getmembers(errors, inspect.isclass)
            if issubclass(c, Exception) and c.__module__ == errors.__name__]


def test_every_error_class_of_the_package_is_in_the_family():
    found = user_errors()
    assert len(found) >= 11 and all(issubclass(c, errors.AssistantError) for c in found)
    # callers that caught the builtin still do
    assert issubclass(errors.SettingsError, ValueError) and issubclass(errors.ChromaStoreError, RuntimeError)


def test_modules_raise_the_shared_classes():
    from assistant import settings
    from assistant.answering import types as answers
    from assistant.index import catalog as index
    from assistant.index import vectors as vectorstore
    from assistant.models import chat as llm
    from assistant.retrieval import filters as retrieval

    assert settings.SettingsError is errors.SettingsError and retrieval.FilterError is errors.FilterError
    assert index.IndexStateError is errors.IndexStateError and vectorstore.ChromaStoreError is errors.ChromaStoreError
    assert llm.EngineError is errors.EngineError and not hasattr(answers, "EngineError")


@pytest.mark.parametrize("cls", user_errors())
def test_the_cli_prints_one_line_for_each(cls, monkeypatch, capsys):
    def fail(args, settings):
        raise cls(f"{cls.__name__}: something the user can fix")

    monkeypatch.setitem(cli.COMMANDS, "list", fail)
    assert cli.main(["list"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"error: {cls.__name__}: something the user can fix"


def test_the_ui_catches_the_family_chroma_included():
    known = ui._known_errors()
    assert errors.AssistantError in known
    assert any(issubclass(errors.ChromaStoreError, k) for k in known)
