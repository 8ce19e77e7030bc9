"""Every error a user can cause, as one family: each says in one line what is wrong (naming the file,
URL, variable or field) and what to do. The CLI and the UI catch ``AssistantError`` and show that
line; anything else is a bug and keeps its traceback. Each class also derives from the builtin its
callers have always caught (``ValueError`` for bad values, ``RuntimeError`` for unusable state)."""

from __future__ import annotations


class AssistantError(Exception):
    """An error the user can cause and fix; its message is one line."""


class SettingsError(AssistantError, ValueError):
    """A setting has a value that cannot be used; the message names the variable."""


class RuleError(SettingsError):
    """ASSISTANT_DISABLED_RULES names a rule that does not exist."""


class CommandError(AssistantError):
    """A command was given arguments it cannot use; exit status 2 (1 is for partly failed ingests)."""


class FilterError(AssistantError, ValueError):
    """A date or outlet filter cannot be read."""


class QuestionError(AssistantError, ValueError):
    """A question, its history or a search query cannot be used (empty, too long, the wrong type)."""


class QuestionSetError(AssistantError, ValueError):
    """A question file cannot be read; the message names the file and line."""


class EmbedderError(AssistantError, ValueError):
    """The embedder spec or its model cannot be used."""


class PromptError(AssistantError, ValueError):
    """A prompt template is missing or lacks a placeholder."""


class EngineError(AssistantError, ValueError):
    """The answer engine spec cannot be resolved (unknown provider, missing model or extra)."""


class LocalModelError(AssistantError, RuntimeError):
    """The local model cannot be used; the message says what to do."""


class IndexStateError(AssistantError, RuntimeError):
    """The index cannot be used as it is; the message says what to do."""


class ChromaStoreError(AssistantError, RuntimeError):
    """Chroma (embedded or a server) cannot be reached or written."""
