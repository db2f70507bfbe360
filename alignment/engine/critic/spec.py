"""The critic's model specification: what a critic directory holds, how it is loaded, and how frames
and text become Qwen2-VL inputs (`pixel_values_videos`, `video_grid_thw`, `mm_token_type_ids`, and
for Qwen2.5-VL `second_per_grid_ts`).

Video preprocessing is done here in numpy/torch, with the exact patch layout of transformers'
Qwen2VLVideoProcessor (whose class needs torchvision, which we do not ship). Frames are sized as
that processor sizes them (`smart_resize`: aspect kept, pixels between the processor's min and max)
when the critic's meta carries the pixel bounds, read from the base's processor config.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from .questions import IM_END, RATINGS, answer_text, chat_prompt, user_text

CRITIC_META_FILE = "lift_critic.json"
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
IGNORE_INDEX = -100
# Sampled frame rate assumed when a video's is unknown (frames handed over as an array): 8 frames
# spread over a 49-frame clip stored at 8 fps, the platform's generation default.
DEFAULT_SAMPLED_FPS = 8 / 49 * 8
VIDEO_TOKEN_TYPE = 2  # mm_token_type_ids: 0 text, 1 image, 2 video


@dataclass
class CriticMeta:
    """What the platform needs beyond the transformers files to use a critic directory."""

    num_frames: int = 8
    frame_size: tuple[int, int] = (224, 224)
    base: str = ""  # base model id or path the critic was trained from
    origin: str = "hub"  # "tiny" | "pretrained" | "hub" | "trained"
    adapter: bool = False  # True: the directory holds a peft adapter over `base`
    with_reasons: bool = True
    metrics: dict = field(default_factory=dict)
    # Pixel bounds per frame of the base's processor: frames keep their aspect (smart_resize) within
    # them. None: every frame is resized to frame_size (critics trained before the bounds were kept).
    min_pixels: int | None = None
    max_pixels: int | None = None
    # The fine-tuning a base was made for, in the train_critic job's parameter names (its defaults on it).
    recipe: dict = field(default_factory=dict)

    def save(self, directory: str | Path) -> None:
        data = asdict(self)
        data["frame_size"] = list(self.frame_size)
        (Path(directory) / CRITIC_META_FILE).write_text(json.dumps(data, indent=2, sort_keys=True))

    @classmethod
    def load(cls, directory: str | Path) -> "CriticMeta":
        """The meta of a critic directory; a plain model (no meta) gets its processor's pixel bounds."""
        path = Path(directory) / CRITIC_META_FILE
        if not path.exists():
            bounds = processor_pixels(directory)
            return cls(base=str(directory), min_pixels=bounds[0] if bounds else None,
                       max_pixels=bounds[1] if bounds else None)
        data = json.loads(path.read_text())
        data["frame_size"] = tuple(data["frame_size"])
        return cls(**data)

    def frame_sizer(self, geometry: "VisionGeometry"):
        """What `sample_frames` takes as its size: the fixed (height, width) every frame is resized to, or,
        where the processor keeps the aspect, a function of the frame's own size."""
        if self.max_pixels is None:
            return geometry.snap(tuple(self.frame_size))
        return lambda height, width: self.frame_size_for(height, width, geometry)

    def frame_size_for(self, height: int, width: int, geometry: "VisionGeometry") -> tuple[int, int]:
        """(height, width) a frame of this size is resized to, as the model's own processor would."""
        if self.max_pixels is None:
            return geometry.snap(tuple(self.frame_size))
        from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import smart_resize

        return smart_resize(height, width, factor=geometry.factor, min_pixels=self.min_pixels or geometry.factor**2,
                            max_pixels=self.max_pixels)


PROCESSOR_FILES = ("preprocessor_config.json", "video_preprocessor_config.json", "processor_config.json")


def _processor_file(source: str | Path, name: str) -> Path | None:
    local = Path(source) / name
    if local.is_file():
        return local
    if Path(source).exists():
        return None
    from transformers.utils import cached_file  # a hub id: the file from the cache or the hub

    found = cached_file(str(source), name, _raise_exceptions_for_missing_entries=False)
    return Path(found) if found else None


def processor_pixels(source: str | Path) -> tuple[int, int] | None:
    """(min_pixels, max_pixels) per video frame from a model's processor config, or None."""
    for name in ("video_preprocessor_config.json", "preprocessor_config.json"):
        try:
            path = _processor_file(source, name)
        except (OSError, ValueError):
            path = None
        if path is None:
            continue
        config = json.loads(path.read_text())
        size = config.get("size") or {}
        low = config.get("min_pixels", size.get("shortest_edge"))
        high = config.get("max_pixels", size.get("longest_edge"))
        if low and high:
            return int(low), int(high)
    return None


def save_processor_files(directory: str | Path, base: str | Path, geometry: "VisionGeometry", meta: CriticMeta) -> None:
    """Give a critic directory its processor config, so `AutoProcessor.from_pretrained` loads it:
    the base's own files when it has them, else a Qwen2-VL image processor config from the geometry."""
    directory = Path(directory)
    copied = False
    for name in PROCESSOR_FILES:
        if (directory / name).exists():
            copied = True
            continue
        try:
            found = _processor_file(base, name)
        except (OSError, ValueError):
            found = None
        if found is not None:
            (directory / name).write_bytes(found.read_bytes())
            copied = True
    if copied:
        return
    from transformers import Qwen2VLImageProcessorPil

    pixels = meta.frame_size[0] * meta.frame_size[1]
    low, high = meta.min_pixels or pixels, meta.max_pixels or pixels
    Qwen2VLImageProcessorPil(
        patch_size=geometry.patch_size, temporal_patch_size=geometry.temporal_patch_size,
        merge_size=geometry.merge_size, size={"shortest_edge": low, "longest_edge": high},
        image_mean=list(CLIP_MEAN), image_std=list(CLIP_STD),
    ).save_pretrained(directory)


@dataclass(frozen=True)
class VisionGeometry:
    patch_size: int
    temporal_patch_size: int
    merge_size: int
    timed: bool = False  # Qwen2.5-VL: the model takes second_per_grid_ts (seconds per temporal patch)

    @classmethod
    def from_config(cls, config) -> "VisionGeometry":
        vision = config.vision_config
        timed = getattr(vision, "tokens_per_second", None) is not None and config.model_type != "qwen2_vl"
        return cls(int(vision.patch_size), int(vision.temporal_patch_size), int(vision.spatial_merge_size), timed)

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

    return patchify_tensor(torch.from_numpy(np.ascontiguousarray(frames)).float().div_(255.0), geometry, mean, std)


def patchify_tensor(frames, geometry: VisionGeometry, mean=CLIP_MEAN, std=CLIP_STD):
    """`patchify` of float frames [T, H, W, 3] in [0, 1], differentiably (a reward's gradient reaches the frames)."""
    import torch

    t, h, w, c = frames.shape
    p, tp, m = geometry.patch_size, geometry.temporal_patch_size, geometry.merge_size
    if h % (p * m) or w % (p * m):
        raise ValueError(f"frame size {h}x{w} is not a multiple of patch*merge={p * m}")
    if pad := -t % tp:
        frames = torch.cat([frames, frames[-1:].expand(pad, h, w, c)])
        t += pad
    x = (frames - torch.tensor(mean, dtype=frames.dtype, device=frames.device)) / torch.tensor(
        std, dtype=frames.dtype, device=frames.device)
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
    fps: float | None = None  # rate of the sampled frames; None: DEFAULT_SAMPLED_FPS


@dataclass
class Turn:
    """One video with a question and (for training) its answer: the unit the model is fed."""

    frames: np.ndarray  # uint8 [T, H, W, 3]
    user: str
    answer: str | None = None
    fps: float | None = None  # rate of the sampled frames (Qwen2.5-VL's time inputs); None: DEFAULT_SAMPLED_FPS


def query_turn(query: Query, *, with_reason: bool, with_answer: bool) -> Turn:
    answer = answer_text(query.rating, query.reason, with_reason) if with_answer else None
    return Turn(query.frames, user_text(query.caption, query.dimension), answer, query.fps)


def encode_turn(tokenizer, turn: Turn, geometry: VisionGeometry):
    """(input_ids, labels) lists: labels are IGNORE_INDEX on the prompt, the answer ids after it."""
    tokens = geometry.num_video_tokens(len(turn.frames), turn.frames.shape[1:3])
    prompt_ids = tokenizer(chat_prompt(turn.user, tokens), add_special_tokens=False)["input_ids"]
    if turn.answer is None:
        return prompt_ids, [IGNORE_INDEX] * len(prompt_ids)
    answer_ids = tokenizer(turn.answer + IM_END, add_special_tokens=False)["input_ids"]
    return prompt_ids + answer_ids, [IGNORE_INDEX] * len(prompt_ids) + answer_ids


def collate(tokenizer, queries: list[Query], geometry: VisionGeometry, *, with_reason: bool, with_answer: bool,
            padding_side: str = "right") -> dict:
    """A padded batch of rating queries for Qwen2VLForConditionalGeneration (labels when with_answer)."""
    turns = [query_turn(q, with_reason=with_reason, with_answer=with_answer) for q in queries]
    return collate_turns(tokenizer, turns, geometry, padding_side=padding_side)


def collate_turns(tokenizer, turns: list[Turn], geometry: VisionGeometry, *, padding_side: str = "right",
                  patches: list | None = None) -> dict:
    """A padded batch of turns; labels are included when every turn has an answer. `patches` (per turn,
    as patchify_tensor makes them) replaces patchifying the turns' frames: a differentiable reward's."""
    import torch

    encoded = [encode_turn(tokenizer, t, geometry) for t in turns]
    with_answer = all(t.answer is not None for t in turns)
    length = max(len(ids) for ids, _ in encoded)
    pad = tokenizer.pad_token_id
    input_ids = torch.full((len(turns), length), pad, dtype=torch.long)
    labels = torch.full((len(turns), length), IGNORE_INDEX, dtype=torch.long)
    attention = torch.zeros((len(turns), length), dtype=torch.long)
    for row, (ids, labs) in enumerate(encoded):
        span = slice(0, len(ids)) if padding_side == "right" else slice(length - len(ids), length)
        input_ids[row, span] = torch.tensor(ids)
        labels[row, span] = torch.tensor(labs)
        attention[row, span] = 1
    patches, grids = zip(*(patches or [patchify(t.frames, geometry) for t in turns]))
    video_token_id = tokenizer.convert_tokens_to_ids("<|video_pad|>")
    batch = {
        "input_ids": input_ids,
        "attention_mask": attention,
        "pixel_values_videos": torch.cat(patches),
        "video_grid_thw": torch.tensor(grids, dtype=torch.long),
        "mm_token_type_ids": (input_ids == video_token_id).long() * VIDEO_TOKEN_TYPE,
    }
    if geometry.timed:  # as Qwen2.5-VL's processor: temporal_patch_size / sampled fps, per video
        batch["second_per_grid_ts"] = torch.tensor(
            [geometry.temporal_patch_size / (t.fps or DEFAULT_SAMPLED_FPS) for t in turns], dtype=torch.float32)
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


def critic_dtype(name_or_dtype, device: str):
    """'auto' (or None) = bfloat16 on CUDA, the dtype VLMs are published in; float32 on the CPU."""
    from ..training.device import resolve_dtype

    if name_or_dtype is None or isinstance(name_or_dtype, str):
        return resolve_dtype(name_or_dtype, device, half_on_cpu=True)
    return name_or_dtype


# Where image-text-to-text models keep their vision tower (Qwen2-VL's `visual`, with its merger; LLaVA-style).
VISION_MODULES = frozenset({"visual", "vision_tower", "vision_model"})


def freeze_vision(model) -> int:
    """Freeze the vision tower's weights (the language model trains); returns how many tensors were frozen."""
    frozen = 0
    for name, parameter in model.named_parameters():
        if VISION_MODULES.intersection(name.split(".")):
            parameter.requires_grad_(False)
            frozen += 1
    if not frozen:
        raise ValueError(f"no vision tower ({', '.join(sorted(VISION_MODULES))}) found to freeze in {type(model).__name__}")
    return frozen


def merge_lora(model):
    """The LoRA folded into the base weights in place (peft's merge_and_unload): no second copy of the
    model in memory. The adapter is gone afterwards: save it first."""
    return model.merge_and_unload() if hasattr(model, "merge_and_unload") else model


@contextlib.contextmanager
def critic_on_device(model, device: str, offload: bool):
    """The critic on `device` for the block and, when offloading, back on the CPU after it: while the
    generator trains, a 2–7B critic would otherwise hold 4–14 GB of the same GPU between reward calls."""
    model.to(device)
    try:
        yield model
    finally:
        if offload and str(device) != "cpu":
            model.to("cpu")
            import torch

            torch.cuda.empty_cache()


def load_critic(critic_dir: str | Path, device: str = "cpu", dtype="auto"):
    """(model, tokenizer, meta) from a critic directory: full model, or peft adapter over meta.base.
    dtype 'auto' loads bf16 weights on CUDA and fp32 on the CPU."""
    from transformers import AutoModelForImageTextToText

    critic_dir = Path(critic_dir)
    meta = CriticMeta.load(critic_dir)
    dtype = critic_dtype(dtype, device)
    if meta.adapter:
        from peft import PeftModel

        base = AutoModelForImageTextToText.from_pretrained(meta.base, dtype=dtype)
        model = merge_lora(PeftModel.from_pretrained(base, str(critic_dir)))
    else:
        model = AutoModelForImageTextToText.from_pretrained(str(critic_dir), dtype=dtype)
    return model.to(device).eval(), load_tokenizer(critic_dir), meta
