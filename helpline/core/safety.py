"""Crisis detection: does this text sound like an overdose or a risk to life?

Checked before any flow routing, in every state. The phrases are data (`flows/crisis.yaml`):
`always` phrases trigger wherever they appear; `unless_asking` phrases (a bare "overdose",
"suicide") trigger unless the message is a general question or about the past ("what are the
signs of an overdose"). Words close to a `vocabulary` word are read as that word first, so
"sucide", "overdoes" and "breathin" still count. We would rather answer a question with the
emergency steps than miss an emergency: the lists lean that way.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from helpline.core.text import normalise

_REPEATS = re.compile(r"(\w)\1{2,}")


@dataclass(frozen=True)
class Crisis:
    always: tuple[re.Pattern[str], ...] = ()
    unless_asking: tuple[re.Pattern[str], ...] = ()
    asking: tuple[re.Pattern[str], ...] = ()
    vocabulary: frozenset[str] = frozenset()
    #: Per channel, the messages (tuples of text keys) of the emergency reply.
    say: Mapping[str, tuple[tuple[str, ...], ...]] = field(default_factory=dict)


def is_crisis(text: str, crisis: Crisis) -> bool:
    """True when `text` sounds like an emergency (see the module docstring)."""
    words = canonical_words(text, crisis.vocabulary)
    if not words:
        return False
    if any(p.search(words) for p in crisis.always):
        return True
    return any(p.search(words) for p in crisis.unless_asking) and not any(p.search(words) for p in crisis.asking)


def canonical_words(text: str, vocabulary: frozenset[str]) -> str:
    """Normalised words, stretched letters squeezed, near-misses of vocabulary words corrected."""
    words = _REPEATS.sub(r"\1", normalise(text)).split()
    return " ".join(_closest(word, vocabulary) for word in words)


def _closest(word: str, vocabulary: frozenset[str]) -> str:
    if word in vocabulary or len(word) < 5:
        return word
    allowed = 1 if len(word) < 9 else 2
    near = [(_distance(word, known, allowed), known) for known in vocabulary if abs(len(known) - len(word)) <= allowed]
    best = min((pair for pair in near if pair[0] <= allowed), default=None)  # nearest, then alphabetical
    return best[1] if best else word


def _distance(a: str, b: str, limit: int) -> int:
    """Damerau-Levenshtein (optimal string alignment) distance, giving up past `limit`."""
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cost = ca != cb
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                current[j] = min(current[j], previous2[j - 2] + 1)
        if min(current) > limit:
            return limit + 1
        previous2, previous = previous, current
    return previous[-1]


def build_crisis(data: Any, where: str, problems: list[str]) -> Crisis:
    """Build Crisis from the parsed crisis.yaml, appending any problems found."""
    if not isinstance(data, dict):
        problems.append(f"{where}: must be a mapping with always, unless_asking, asking and say")
        return Crisis()

    def patterns(name: str) -> tuple[re.Pattern[str], ...]:
        compiled = []
        for phrase in data.get(name, []):
            if not isinstance(phrase, str):
                problems.append(f"{where}: {name}: {phrase!r} must be a quoted string")
                continue
            try:
                compiled.append(re.compile(rf"(?:^|\b)(?:{phrase})(?:\b|$)"))
            except re.error as error:
                problems.append(f"{where}: {name}: bad pattern {phrase!r}: {error}")
        if not compiled:
            problems.append(f"{where}: {name} must list at least one phrase")
        return tuple(compiled)

    say = data.get("say", {})
    if not isinstance(say, dict) or "sms" not in say:
        problems.append(f"{where}: say must give the text keys of the emergency reply per channel")
        say = {}
    return Crisis(
        always=patterns("always"),
        unless_asking=patterns("unless_asking"),
        asking=patterns("asking"),
        vocabulary=frozenset(normalise(str(w)) for w in data.get("vocabulary", [])),
        say={
            str(channel): tuple(tuple(map(str, m)) if isinstance(m, list) else (str(m),) for m in messages)
            for channel, messages in say.items()
        },
    )
