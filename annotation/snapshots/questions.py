"""Which dimension a LiFT-HRA human turn asks about, and where its caption is.

Files in the public format do not all phrase the questions alike: the paper and our schema use a short
form, the public critic code (CodeGoat24/LiFT, LiFT-Critic/test/run_critic_13b.py) a long one, and an
evaluation wrapper of the public critic puts the prompt inside the semantic question ("... For this
video, the text prompt is: <prompt>"). So a turn is read the way the public code tells them apart, by
the key phrase of "Please identify the <key phrase> issues in this video", and otherwise by the
campaign schema's own questions and dimension names (case and whitespace aside).
"""
from __future__ import annotations

import re

# The questions of the public critic code (run_critic_13b.py `question_list`, joined after the caption).
PUBLIC_QUESTIONS = {
    "semantic": (
        "Please identify the semantic consistency issues in this video, focusing on the alignment between the "
        "text and the visual content. Specifically, point out any discrepancies regarding the subject (e.g., "
        "person or animal), quantity, color, scene description, style, and other relevant aspects."
    ),
    "fidelity": (
        "Please identify the fidelity issues in this video, assessing the realism of the content, including "
        "people, animals, and other objects. Highlight any problems such as missing limbs, deformed hands or "
        "faces, or other unrealistic elements."
    ),
    "motion": (
        "Please identify the motion issues in this video, focusing on the continuity and smoothness of actions, "
        "as well as their coherence and adherence to the laws of physics."
    ),
}
# The public code's `question_types`, plus the names of our LiFT schema's dimensions.
KEY_PHRASES = {
    "semantic": ("semantic consistency", "semantic"),
    "fidelity": ("video fidelity", "fidelity"),
    "motion": ("motion smoothness", "motion"),
}

_MEDIA_TOKENS = re.compile(r"^(?:\s*<(?:video|image)>)+", re.IGNORECASE)
_PROMPT_MARKER = re.compile(r"\bfor this video,?\s*the text prompt is\s*:", re.IGNORECASE)
_LIFT_QUESTION = re.compile(r"\bplease identify the (?P<aspect>[a-z][a-z -]*?) issues? in this video", re.IGNORECASE)
_SENTENCE = re.compile(r"[^.?!]+[.?!]*")


def _fold(text: str) -> str:
    return " ".join(text.split()).lower()


def lift_dimension(key: str, label: str = "") -> str | None:
    """The LiFT dimension (semantic / fidelity / motion) a schema dimension is, by its key or label."""
    names = {_fold(key.replace("_", " ")), _fold(label)}
    for lift_key, phrases in KEY_PHRASES.items():
        if names & set(phrases):
            return lift_key
    return None


def public_question(key: str, label: str, fallback: str) -> str:
    """The public critic's question for a LiFT dimension; the schema's own question for any other."""
    lift_key = lift_dimension(key, label)
    return PUBLIC_QUESTIONS[lift_key] if lift_key else fallback


class QuestionReader:
    """Reads human turns against one campaign schema (built once per file)."""

    def __init__(self, schema: dict):
        dims = schema["dimensions"]
        self.keys = [dim["key"] for dim in dims]
        # Longest first, so a question that extends another is matched whole.
        self.questions = sorted(((_fold(dim["question"]), dim["key"]) for dim in dims if dim.get("question")),
                                key=lambda q: -len(q[0]))
        self.names: dict[str, str] = {}
        for dim in dims:
            lift_key = lift_dimension(dim["key"], dim.get("label", ""))
            for name in (dim["key"].replace("_", " "), dim.get("label", ""), *KEY_PHRASES.get(lift_key, ())):
                if _fold(name):
                    self.names.setdefault(_fold(name), dim["key"])
        self._name_pattern = re.compile(
            r"\b(" + "|".join(re.escape(n) for n in sorted(self.names, key=len, reverse=True)) + r")\b")

    def read(self, value: str) -> tuple[str, str, str]:
        """(text before the question, prompt inside it, dimension key); ValueError naming what is wrong."""
        if not isinstance(value, str):
            raise ValueError("the human turn is not text")
        text = " ".join(_MEDIA_TOKENS.sub("", value).split())
        inside = ""
        marker = _PROMPT_MARKER.search(text)
        if marker:
            text, inside = text[: marker.start()].strip(), text[marker.end():].strip()
        lower = text.lower()
        for question, key in self.questions:
            at = lower.rfind(question)
            if at >= 0:
                return text[:at].strip(), inside, key
        asked = list(_LIFT_QUESTION.finditer(text))
        if asked:
            aspect = _fold(asked[-1]["aspect"])
            if aspect not in self.names:
                raise ValueError(f"asks about {aspect!r} issues, which no dimension of the campaign rates "
                                 f"({', '.join(self.keys)})")
            return text[: asked[-1].start()].strip(), inside, self.names[aspect]
        return self._by_name(text, inside)

    def _by_name(self, text: str, inside: str) -> tuple[str, str, str]:
        # The question comes last: the last sentence that names a dimension is it.
        for sentence in reversed(list(_SENTENCE.finditer(text))):
            named = {self.names[m.group(1)] for m in self._name_pattern.finditer(sentence.group().lower())}
            if len(named) > 1:
                raise ValueError(f"the question names several dimensions ({', '.join(sorted(named))}): "
                                 f"{sentence.group().strip()[:80]!r}")
            if named:
                return text[: sentence.start()].strip(), inside, named.pop()
        raise ValueError(f"unknown question: it names no dimension the campaign rates ({', '.join(self.keys)}): "
                         f"{text[-80:]!r}")
