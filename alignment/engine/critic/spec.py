"""The critic's model specification: what a critic directory holds, how it is loaded, and how frames
and text become Qwen2-VL inputs (`pixel_values_videos`, `video_grid_thw`, `mm_token_type_ids`).

Video preprocessing is done here in numpy/torch, with the exact patch layout of transformers'
Qwen2VLVideoProcessor (whose class needs torchvision, which we do not ship).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from .questions import IM_END, RATINGS, answer_text, prompt_text

CRITIC_META_FILE = "lift_critic.json"
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
IGNORE_INDEX = -100
VIDEO_TOKEN_TYPE = 2  # mm_token_type_ids: 0 text, 1 image, 2 video


@dataclass
class CriticMeta:
    """What the platform needs beyond the transformers files to use a critic directory."""

    num_frames: int = 8
    frame_size: tuple[int, int] = (224, 224)
    base: str = ""  # base model id or path the critic was trained from
    origin: str = "hub"  # "tiny" | "hub" | "trained"
    adapter: bool = False  # True: the directory holds a peft adapter over `base`
    with_reasons: bool = True
    metrics: dict = field(default_factory=dict)

    def save(self, directory: str | Path) -> None:
        data = asdict(self)
        data["frame_size"] = list(self.frame_size)
        (Path(directory) / CRITIC_META_FILE).write_text(json.dumps(data, indent=2, sort_keys=True))

    @classmethod
    def load(cls, directory: str | Path) -> "CriticMeta":
        path = Path(directory) / CRITIC_META_FILE
        if not path.exists():
            return cls(base=str(directory))
        data = json.loads(path.read_text())
        data["frame_size"] = tuple(data["frame_size"])
        return cls(**data)


@dataclass(frozen=True)
class VisionGeometry:
    patch_size: int
    temporal_patch_size: int
    merge_size: int

    @classmethod
    def from_config(cls, config) -> "VisionGeometry":
        vision = config.vision_config
        return cls(int(vision.patch_size), int(vision.temporal_patch_size), int(vision.spatial_merge_size))

    @property
    def factor(self) -> int:
        return self.patch_size * self.merge_size

    def snap(self, size: tuple[int, int]) -> tuple[int, int]:
        """Nearest (height, width) in multiples of patch × merge, at least one multiple."""
        return tuple(max(self.factor, int(round(s / self.factor)) * self.factor) for s in size)

    def num_video_tokens(self, num_frames: int, size: tuple[int, int]) -> int:
        grid_t = -(-num_frames // self.temporal_patch_size)
        return grid_t * (size[0] // self.patch_size) * (size[1] // self.patch_size) // self.merge_size**2


def patchify(frames: np.ndarray, geometry: VisionGeometry, mean=CLIP_MEAN, std=CLIP_STD):
    """uint8 [T, H, W, 3] → (float patches [grid_t·grid_h·grid_w, 3·tp·p·p], (grid_t, grid_h, grid_w)).

    Same layout as Qwen2VLVideoProcessor.patchify; T is padded to the temporal patch by repeating
    the last frame, H and W must already be multiples of patch × merge.
    """
    import torch

    t, h, w, c = frames.shape
    p, tp, m = geometry.patch_size, geometry.temporal_patch_size, geometry.merge_size
    if h % (p * m) or w % (p * m):
        raise ValueError(f"frame size {h}x{w} is not a multiple of patch*merge={p * m}")
    if pad := -t % tp:
        frames = np.concatenate([frames, np.repeat(frames[-1:], pad, axis=0)])
        t += pad
    x = torch.from_numpy(np.ascontiguousarray(frames)).float().div_(255.0)
    x = (x - torch.tensor(mean)) / torch.tensor(std)
    x = x.permute(0, 3, 1, 2)  # T, C, H, W
    gt, gh, gw = t // tp, h // p, w // p
    x = x.reshape(gt, tp, c, gh // m, m, p, gw // m, m, p)
    x = x.permute(0, 3, 6, 4, 7, 2, 1, 5, 8)
    return x.reshape(gt * gh * gw, c * tp * p * p), (gt, gh, gw)


@dataclass
class Query:
    """One (video, dimension) question, frames already sampled to the critic's geometry."""

    frames: np.ndarray  # uint8 [T, H, W, 3]
    caption: str
    dimension: str
    rating: str | None = None
    reason: str | None = None


def encode_query(tokenizer, query: Query, geometry: VisionGeometry, with_reason: bool, with_answer: bool):
    """(input_ids, labels) lists: labels are IGNORE_INDEX on the prompt, the answer ids after it."""
    tokens = geometry.num_video_tokens(len(query.frames), query.frames.shape[1:3])
    prompt_ids = tokenizer(prompt_text(query.caption, query.dimension, tokens), add_special_tokens=False)["input_ids"]
    if not with_answer:
        return prompt_ids, [IGNORE_INDEX] * len(prompt_ids)
    answer = answer_text(query.rating, query.reason, with_reason) + IM_END
    answer_ids = tokenizer(answer, add_special_tokens=False)["input_ids"]
    return prompt_ids + answer_ids, [IGNORE_INDEX] * len(prompt_ids) + answer_ids


def collate(tokenizer, queries: list[Query], geometry: VisionGeometry, *, with_reason: bool, with_answer: bool,
            padding_side: str = "right") -> dict:
    """A padded batch for Qwen2VLForConditionalGeneration (labels included when with_answer)."""
    import torch

    encoded = [encode_query(tokenizer, q, geometry, with_reason, with_answer) for q in queries]
    length = max(len(ids) for ids, _ in encoded)
    pad = tokenizer.pad_token_id
    input_ids = torch.full((len(queries), length), pad, dtype=torch.long)
    labels = torch.full((len(queries), length), IGNORE_INDEX, dtype=torch.long)
    attention = torch.zeros((len(queries), length), dtype=torch.long)
    for row, (ids, labs) in enumerate(encoded):
        span = slice(0, len(ids)) if padding_side == "right" else slice(length - len(ids), length)
        input_ids[row, span] = torch.tensor(ids)
        labels[row, span] = torch.tensor(labs)
        attention[row, span] = 1
    patches, grids = zip(*(patchify(q.frames, geometry) for q in queries))
    video_token_id = tokenizer.convert_tokens_to_ids("<|video_pad|>")
    batch = {
        "input_ids": input_ids,
        "attention_mask": attention,
        "pixel_values_videos": torch.cat(patches),
        "video_grid_thw": torch.tensor(grids, dtype=torch.long),
        "mm_token_type_ids": (input_ids == video_token_id).long() * VIDEO_TOKEN_TYPE,
    }
    if with_answer:
        batch["labels"] = labels
    return batch


def rating_token_ids(tokenizer) -> list[int]:
    """The first answer token of each rating word (Good, Normal, Bad), checked to be distinct."""
    ids = [tokenizer(r, add_special_tokens=False)["input_ids"][0] for r in RATINGS]
    if len(set(ids)) != len(ids) or tokenizer.unk_token_id in ids:
        raise ValueError(f"the tokenizer does not tell the rating words apart: {dict(zip(RATINGS, ids))}")
    return ids


def load_tokenizer(path: str | Path):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(path))


def load_critic(critic_dir: str | Path, device: str = "cpu", dtype=None):
    """(model, tokenizer, meta) from a critic directory: full model, or peft adapter over meta.base."""
    from transformers import AutoModelForImageTextToText

    critic_dir = Path(critic_dir)
    meta = CriticMeta.load(critic_dir)
    if meta.adapter:
        from peft import PeftModel

        base = AutoModelForImageTextToText.from_pretrained(meta.base, dtype=dtype)
        model = PeftModel.from_pretrained(base, str(critic_dir)).merge_and_unload()
    else:
        model = AutoModelForImageTextToText.from_pretrained(str(critic_dir), dtype=dtype)
    return model.to(device).eval(), load_tokenizer(critic_dir), meta
