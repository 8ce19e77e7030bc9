"""The answer engines' hand rules, each by name, each switchable for an ablation.

    ASSISTANT_DISABLED_RULES=focus,second-sentence assistant eval ...

turns the named rules off. ``bench/ablation.py`` measures every rule with and without, on every
question set at once; a rule stays in the code only where it pays (README, "What each rule is worth").
Thresholds are settings of their own (``ASSISTANT_ABSTAIN_THRESHOLD`` ...) and are swept instead.
"""

from __future__ import annotations

from assistant.errors import RuleError

RULES: dict[str, str] = {
    # question analysis: the kinds of answer a question asks for (a sentence must hold one)
    "kind-number": "'how many / how much / how far' asks for a figure",
    "kind-age": "'how old' asks for an age",
    "kind-date": "'when / which day, month, year' asks for a date",
    "kind-person": "'who / whom / whose' asks for a person's name (two capitalised words)",
    "kind-name": "'which ... / what is the name' asks for a name (a capitalised word)",
    "followup-context": "a follow-up ('how old is he?') borrows its earlier turn's words at half weight",
    "followup-retrieval": "a follow-up no model rewrote is searched with its earlier turn prepended (kept for "
                          "retrieval: hit@1 and hit@5 of follow-ups, README 'What each rule is worth')",
    # the sentence scorer
    "focus": "'how many X' / 'which X': a figure or name next to X in the sentence scores higher",
    # the extractive engine's choice
    "dated-figures": "figures that differ between articles of different dates are each given, newest first",
    "second-sentence": "a second sentence scoring close to the best one is added",
    "answer-words": "the direct span of a long sentence keeps what the sentence adds near the question's words "
                    "(its answer words), not only the question's own words (extractive; the LLM engine gains "
                    "nothing from it)",
    # the LLM engine
    "lead-passage": "the model reads the top retrieved passage whole, before the best sentences of the others",
    "quote-declined": "the model declines (or its answer is withheld) while the scorer found a sentence of the "
                      "asked kind: quote the scorer's sentences",
    "withhold-off-kind": "an answer with nothing of the asked kind (no figure for 'how many') is withheld",
    "withhold-judged": "asked after answering whether the sources state the answer to the question, a model that "
                       "is not sure enough (log P(Yes) - log P(No) below ASSISTANT_JUDGE_THRESHOLD) has it withheld "
                       "(models without token probabilities skip this)",
    "withhold-invented": "an answer whose every claim states a figure or name no source has is withheld "
                         "(kept below the bar: the verification guarantee of README, 'What each rule is worth')",
    "quote-facts": "a citation quotes the sentence of its source holding the claim's own figures and names, "
                   "not only the one most similar to the claim (measured by the eval's 'evidence', not points)",
}


class Rules:
    """Which rules are on (all, unless named in ``disabled``)."""

    def __init__(self, disabled: str | set[str] | frozenset[str] = ""):
        names = {d.strip() for d in (disabled.split(",") if isinstance(disabled, str) else disabled) if d.strip()}
        unknown = sorted(names - set(RULES))
        if unknown:
            raise RuleError(f"ASSISTANT_DISABLED_RULES: unknown rule {unknown[0]!r} (rules: {', '.join(RULES)})")
        self.disabled = frozenset(names)

    def on(self, name: str) -> bool:
        if name not in RULES:
            raise KeyError(name)
        return name not in self.disabled

    @property
    def kinds(self) -> set[str]:
        return {name.removeprefix("kind-") for name in RULES if name.startswith("kind-") and self.on(name)}
