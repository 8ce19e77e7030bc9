"""Prompt templates: the text files in ``prompts/`` (shipped inside the package as
``assistant/prompts/``). ``ASSISTANT_PROMPTS_DIR`` points at a folder of your own.

A template has a ``[system]`` section and a ``[user]`` section. The system section must not
contain placeholders: it is the fixed prefix that llama.cpp keeps in its cache from one
question to the next, so only the user section is read anew for each question.
"""

from __future__ import annotations

import re
from pathlib import Path

from assistant.errors import PromptError

_PACKAGED = Path(__file__).resolve().parents[1] / "prompts"  # non-editable installs: assistant/prompts/
_REPO = Path(__file__).resolve().parents[2] / "prompts"  # a source checkout / editable install
_SECTION = re.compile(r"^\[(system|user)\]\s*$", re.MULTILINE)


def prompts_dir() -> Path:
    from assistant.settings import Settings

    custom = Settings.from_env().prompts_dir
    if custom:
        return Path(custom).expanduser()
    return _PACKAGED if _PACKAGED.is_dir() else _REPO


def available() -> list[str]:
    return sorted(p.stem for p in prompts_dir().glob("*.txt"))


def load_prompt(name: str) -> str:
    path = prompts_dir() / f"{name}.txt"
    if not path.is_file():
        raise FileNotFoundError(f"prompt {name!r} not found: {path} (have: {', '.join(available()) or 'none'})")
    return path.read_text(encoding="utf-8")


def load_sections(name: str, placeholders: tuple[str, ...] = (), *, system_from: str | None = None) -> tuple[str, str]:
    """(system, user) texts of a template; every placeholder must appear in the user section. A
    template with ``system_from`` has only a [user] section and shares that template's system section
    (so a local model reuses the cached prefix: the condensation reads only its own question)."""
    text = load_prompt(name)
    where = prompts_dir() / f"{name}.txt"
    parts = _SECTION.split(text)
    sections = {parts[i]: parts[i + 1].strip("\n") for i in range(1, len(parts) - 1, 2)}
    wanted = {"user"} if system_from else {"system", "user"}
    if set(sections) != wanted or parts[0].strip():
        raise PromptError(f"{where}: needs " + ("a [user] section only (its system section is "
                                               f"{system_from}.txt's)" if system_from else
                                               "a [system] section and a [user] section") + ", and nothing before")
    if system_from:
        sections["system"] = load_sections(system_from)[0]
    if re.search(r"(?<!\{)\{\w+\}(?!\})", sections["system"]):
        raise PromptError(f"{where}: the [system] section must have no {{placeholders}} (it is the cached prefix)")
    for p in placeholders:
        if "{" + p + "}" not in sections["user"]:
            raise PromptError(f"{where}: the [user] section must contain {{{p}}}")
    return sections["system"], sections["user"]


def chat_prompt(name: str, placeholders: tuple[str, ...], *, system_from: str | None = None):
    """The template as a LangChain ``ChatPromptTemplate`` (system message + user message)."""
    from langchain_core.prompts import ChatPromptTemplate

    system, user = load_sections(name, placeholders, system_from=system_from)
    return ChatPromptTemplate.from_messages([("system", system.replace("{", "{{").replace("}", "}}")), ("human", user)])
