"""Prompt expansion: a short prompt becomes the detailed caption the video model is given.

LiFT expanded its category-built prompts with an LLM; `CausalLMExpander` does that with any chat
model loadable by `from_pretrained`. `TemplateExpander` is the deterministic, model-free
stand-in. Both keep the short prompt at the start of the caption, so the synthetic world (and a
person reading the caption) still finds the original request in it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from .synthetic.grammar import PromptParseError, SceneSpec, parse_prompt, shape_noun
from .training.device import resolve_device, resolve_dtype


class PromptExpander(Protocol):
    def expand(self, prompt: str) -> str: ...


SYSTEM_PROMPT = (
    "You write captions for a text-to-video model. Rewrite the user's short prompt as one detailed "
    "paragraph: keep every subject, number, colour, action and place it names, and describe the look, "
    "lighting and camera. Answer with the caption only."
)

_GENERIC_DETAIL = (
    "The scene is filmed in a single continuous shot with steady lighting and natural colours; "
    "the camera holds its position and the subject stays in view, with smooth, realistic motion."
)

# (one object, several objects): the verb agrees with the count.
_MOTION_DETAIL = {
    "moving left": ("glides steadily from the right side of the frame towards the left",
                    "glide steadily from the right side of the frame towards the left"),
    "moving right": ("glides steadily from the left side of the frame towards the right",
                     "glide steadily from the left side of the frame towards the right"),
    "bouncing": ("bounces up and down in an even rhythm", "bounce up and down in an even rhythm"),
    "spinning": ("turns on the spot at a constant speed", "turn on the spot at a constant speed"),
}


def _clean(prompt: str) -> str:
    text = " ".join(prompt.split()).rstrip(" .")
    if not text:
        raise ValueError("cannot expand an empty prompt")
    return text


def _scene_detail(spec: SceneSpec) -> str:
    singular, plural = _MOTION_DETAIL[spec.motion]
    motion = singular if spec.count == 1 else plural
    subject = f"The {spec.shape}" if spec.count == 1 else f"The {shape_noun(spec.shape, spec.count)}"
    return f"{subject}, flat solid {spec.colour} with crisp edges, {motion} while the plain background stays fixed."


@dataclass(frozen=True)
class TemplateExpander:
    """Deterministic expansion: the prompt, then detail sentences (specific ones for the synthetic grammar)."""

    def expand(self, prompt: str) -> str:
        text = _clean(prompt)
        try:
            detail = _scene_detail(parse_prompt(text))
        except PromptParseError:
            detail = ""
        return " ".join(part for part in (f"{text}.", detail, _GENERIC_DETAIL) if part)


@dataclass
class CausalLMExpander:
    """Expansion with a chat language model (`AutoModelForCausalLM` + the tokenizer's chat template).

    Greedy decoding by default, so the same prompt gives the same caption. An empty answer falls
    back to the prompt itself: a caption must never be empty.
    """

    id_or_path: str
    max_new_tokens: int = 120
    system_prompt: str = SYSTEM_PROMPT
    do_sample: bool = False
    temperature: float = 0.7
    device: str | None = None
    _model: object = field(default=None, init=False, repr=False)
    _tokenizer: object = field(default=None, init=False, repr=False)

    def validate(self) -> None:
        if self.max_new_tokens < 1:
            raise ValueError(f"max_new_tokens must be at least 1, got {self.max_new_tokens}")
        if self.do_sample and self.temperature <= 0:
            raise ValueError("temperature must be positive when sampling")

    def load(self) -> None:
        if self._model is not None:
            return
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.validate()
        self.device = resolve_device(self.device)
        self._tokenizer = AutoTokenizer.from_pretrained(self.id_or_path)
        if not self._tokenizer.chat_template:
            raise ValueError(f"{self.id_or_path} has no chat template; prompt expansion needs a chat model")
        dtype = resolve_dtype("auto", self.device)
        self._model = AutoModelForCausalLM.from_pretrained(self.id_or_path, dtype=dtype).to(self.device).eval()

    def messages(self, prompt: str) -> list[dict]:
        return [{"role": "system", "content": self.system_prompt}, {"role": "user", "content": _clean(prompt)}]

    def expand(self, prompt: str) -> str:
        import torch

        self.load()
        inputs = self._tokenizer.apply_chat_template(
            self.messages(prompt), add_generation_prompt=True, return_tensors="pt", return_dict=True
        ).to(self.device)
        sampling = {"do_sample": True, "temperature": self.temperature} if self.do_sample else {"do_sample": False}
        with torch.inference_mode():
            output = self._model.generate(
                **inputs,
                max_new_tokens=self.max_new_tokens,
                pad_token_id=self._tokenizer.pad_token_id or self._tokenizer.eos_token_id,
                **sampling,
            )
        new_tokens = output[0, inputs["input_ids"].shape[1] :]
        caption = " ".join(self._tokenizer.decode(new_tokens, skip_special_tokens=True).split())
        return caption or _clean(prompt)


_LM_OPTIONS = {"id_or_path": str, "max_new_tokens": int, "system_prompt": str, "do_sample": bool,
               "temperature": (int, float), "device": str}


def expander_from_config(config: str | dict) -> PromptExpander:
    """"template", a causal LM's hub id or path, or a dict of `CausalLMExpander` options (no model is loaded here)."""
    if config == "template":
        return TemplateExpander()
    if isinstance(config, str) and config.strip():
        return CausalLMExpander(config.strip())
    if not isinstance(config, dict):
        raise ValueError('an expander is "template", a model id or path, or an object with "id_or_path"')
    if unknown := sorted(set(config) - set(_LM_OPTIONS)):
        raise ValueError(f"unknown expander options: {', '.join(unknown)}")
    if not isinstance(config.get("id_or_path"), str) or not config["id_or_path"].strip():
        raise ValueError("an expander object needs id_or_path (a hub id or a local path)")
    for name, kind in _LM_OPTIONS.items():
        if name in config and (not isinstance(config[name], kind) or (kind is int and isinstance(config[name], bool))):
            raise ValueError(f"expander option {name} has the wrong type")
    expander = CausalLMExpander(**config)
    expander.validate()
    return expander
