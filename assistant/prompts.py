"""Prompt templates: the text files in ``prompts/`` (shipped inside the package as
``assistant/prompts/``). ``ASSISTANT_PROMPTS_DIR`` points at a folder of your own."""

from __future__ import annotations

from pathlib import Path

_PACKAGED = Path(__file__).resolve().parent / "prompts"  # non-editable installs
_REPO = Path(__file__).resolve().parent.parent / "prompts"  # a source checkout / editable install


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
