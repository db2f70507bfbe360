"""The LiFT-HRA prompt and answer format: one query per dimension, answers "<Rating>. <reason>".

Pure string functions shared by training, scoring, the tiny tokenizer and the snapshot reader.
The questions are those of the public LiFT-HRA file (lift_hra_example.json).
"""

from __future__ import annotations

DIMENSIONS = ("semantic", "motion", "fidelity")
RATINGS = ("Good", "Normal", "Bad")
# LiFT's reward for a rating (the critic's expected reward weighs these by its probabilities).
RATING_REWARDS = {"Good": 0.9, "Normal": 0.2, "Bad": 0.05}

QUESTIONS: dict[str, str] = {
    "semantic": (
        "Please identify the semantic consistency issues in this video, focusing on the alignment "
        "between the text and the visual content."
    ),
    "motion": "Please identify the motion issues in this video, focusing on the continuity and smoothness of actions.",
    "fidelity": "Please identify the fidelity issues in this video, such as blur, artifacts, deformed limbs.",
}

# What the tiny critic is asked while it is pretrained to see the synthetic world (critic/pretrain.py):
# one question per fact the renderer knows (synthetic/describe.py) and whether the video shows a caption. None of them is a LiFT question, and no answer is a rating.
WORLD_QUESTIONS = {
    "count": "How many objects are there?",
    "colour": "What colour are the objects?",
    "shape": "What shape are the objects?",
    "motion": "How do the objects move?",
    "scene": "Where are the objects?",
    "timing": "How are the moments of the clip spaced?",
    "shake": "How much do the objects shake?",
    "picture": "How does the picture look?",
}
MATCH_QUESTION = "Does the video show {caption}?"

# Qwen2-VL chat markup: the video placeholder is expanded to one <|video_pad|> per merged patch.
IM_START, IM_END = "<|im_start|>", "<|im_end|>"
VISION_START, VISION_END = "<|vision_start|>", "<|vision_end|>"
VIDEO_PAD, IMAGE_PAD = "<|video_pad|>", "<|image_pad|>"
SPECIAL_TOKENS = ("<|endoftext|>", IM_START, IM_END, VISION_START, VISION_END, VIDEO_PAD, IMAGE_PAD, "<unk>")


class CriticDataError(ValueError):
    """Data the critic cannot train or score on; `reason` says what is wrong, for the job row."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def check_dimension(dimension: str) -> str:
    if dimension not in QUESTIONS:
        raise CriticDataError(f"unknown dimension {dimension!r}; known: {', '.join(DIMENSIONS)}")
    return dimension


def check_rating(rating: str) -> str:
    if rating not in RATINGS:
        raise CriticDataError(f"unknown rating {rating!r}; known: {', '.join(RATINGS)}")
    return rating


def user_text(caption: str, dimension: str) -> str:
    """The human turn after the video: caption then the dimension question."""
    return f"{' '.join(caption.split())} {QUESTIONS[check_dimension(dimension)]}"


def answer_text(rating: str, reason: str | None, with_reason: bool = True) -> str:
    """"Bad. The frames are blurred." or, without reasons, "Bad." """
    check_rating(rating)
    reason = " ".join((reason or "").split())
    if not with_reason or not reason:
        return f"{rating}."
    return f"{rating}. {reason}"


def chat_prompt(user: str, num_video_tokens: int) -> str:
    """A user turn (the video, then `user`) up to where the answer starts (Qwen2-VL chat format)."""
    if num_video_tokens < 1:
        raise ValueError(f"num_video_tokens must be at least 1, got {num_video_tokens}")
    video = f"{VISION_START}{VIDEO_PAD * num_video_tokens}{VISION_END}"
    return f"{IM_START}user\n{video}{user}{IM_END}\n{IM_START}assistant\n"


def prompt_text(caption: str, dimension: str, num_video_tokens: int) -> str:
    """The full rating prompt up to where the answer starts."""
    return chat_prompt(user_text(caption, dimension), num_video_tokens)


def parse_answer(text: str) -> tuple[str, str]:
    """(rating, reason) from "<Rating>. <reason>"; raises CriticDataError if no rating word leads."""
    stripped = text.strip()
    for rating in RATINGS:
        if stripped.startswith(rating):
            return rating, stripped[len(rating):].lstrip(" .:").strip()
    raise CriticDataError(f"answer does not start with a rating word ({'/'.join(RATINGS)}): {text[:60]!r}")


def dimension_of_question(text: str) -> str:
    """Which dimension a LiFT-HRA human turn asks about (by its question)."""
    for dimension, question in QUESTIONS.items():
        if question in " ".join(text.split()):
            return dimension
    for dimension, keyword in (("semantic", "semantic"), ("motion", "motion"), ("fidelity", "fidelity")):
        if f"{keyword} issues" in text:
            return dimension
    raise CriticDataError(f"question names no known dimension: {text[-80:]!r}")


def caption_of_question(text: str, dimension: str) -> str:
    """The caption in a LiFT-HRA human turn: drop "<video>" and the dimension question."""
    body = " ".join(text.replace("<video>", " ").split())
    question = QUESTIONS[dimension]
    if question in body:
        body = body.replace(question, "")
    else:
        body = body.split(" Please identify")[0]
    return body.strip()
