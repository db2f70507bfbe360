"""Text-to-video generation: a spec, a loader, request checks, a per-worker cache and `generate`.

Any diffusers text-to-video pipeline loads through `DiffusionPipeline.from_pretrained(id_or_path)`;
CogVideoX is first-class (its own schedulers, its frame/size/text-length rules checked up front).
The base "synthetic://world" selects the synthetic world through the same interface, so the
platform can run the whole loop without a GPU.

Typical worker use:
    spec = GeneratorSpec(base=..., frames=49, height=480, width=720); spec.validate()
    validate_request(read_limits(spec.base), spec)       # refuse before loading anything
    pipe = cache.get(spec)                                 # loads once per worker
    frames = generate(pipe, prompt, seed, spec, on_progress=report)
"""

from __future__ import annotations

import inspect
import json
import threading
from collections import OrderedDict
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Callable

import numpy as np

from .scale import MemoryProfile, module_parameters
from .synthetic.generator import SyntheticGenerator, is_synthetic_base
from .training.device import resolve_device, resolve_dtype

ProgressCallback = Callable[[float, str], None]

SCHEDULERS = ("ddim", "dpm")
DTYPES = ("auto", "float32", "bfloat16", "float16")

# Share of the progress bar given to denoising; the VAE decode takes the rest.
DENOISE_SHARE = 0.9


class InvalidRequest(ValueError):
    """A generation request refused before any work, with the reason for the person who made it."""


@dataclass(frozen=True)
class GeneratorSpec:
    base: str = field(metadata={"help": "hub id, local directory, or synthetic://world / synthetic://clean"})
    lora: str | None = field(default=None, metadata={"help": "directory or file of diffusers-format LoRA weights"})
    dtype: str = field(default="auto", metadata={"help": "auto = bfloat16 on CUDA, float32 on CPU"})
    scheduler: str = field(default="ddim", metadata={"help": "ddim or dpm (CogVideoX's own variants)"})
    steps: int = field(default=50, metadata={"help": "denoising steps"})
    guidance: float = field(default=6.0, metadata={"help": "classifier-free guidance scale; <= 1 turns it off"})
    frames: int = field(default=49, metadata={"help": "frames to generate; CogVideoX needs 8k+1"})
    height: int = field(default=480, metadata={"help": "pixels"})
    width: int = field(default=720, metadata={"help": "pixels"})
    fps: int = field(default=8, metadata={"help": "frame rate the video is stored at"})
    max_sequence_length: int = field(default=226, metadata={"help": "text tokens; must match the model"})
    cpu_offload: bool = field(default=False, metadata={"help": "model CPU offload (CUDA only) to save memory"})
    vae_tiling: bool | None = field(default=None, metadata={"help": "decode in tiles: less memory at high resolution; "
                                                                   "None = on for real-sized models (scale.MemoryProfile)"})
    vae_slicing: bool | None = field(default=None, metadata={"help": "decode batch items one at a time; "
                                                                    "None = on for real-sized models"})
    compile: bool = field(default=False, metadata={"help": "torch.compile the denoiser"})

    def validate(self) -> None:
        """Checks that need no model; `validate_request` adds the model's own rules."""
        if not self.base:
            raise InvalidRequest("base must name a model (hub id, directory or synthetic://world)")
        if self.scheduler not in SCHEDULERS:
            raise InvalidRequest(f"scheduler must be one of {SCHEDULERS}, got {self.scheduler!r}")
        if self.dtype not in DTYPES:
            raise InvalidRequest(f"dtype must be one of {DTYPES}, got {self.dtype!r}")
        for name in ("steps", "frames", "height", "width", "fps", "max_sequence_length"):
            if getattr(self, name) < 1:
                raise InvalidRequest(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.guidance < 0:
            raise InvalidRequest(f"guidance must not be negative, got {self.guidance}")

    def load_key(self) -> tuple:
        """What decides the loaded pipeline; per-request settings (steps, size…) are left out."""
        return (self.base, self.lora, self.dtype, self.scheduler, self.cpu_offload, self.vae_tiling, self.vae_slicing, self.compile)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "GeneratorSpec":
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise InvalidRequest(f"unknown generator settings: {', '.join(sorted(unknown))}")
        return cls(**data)


# ---------------------------------------------------------------------------------------------
# What a model accepts, read from its configs without loading weights


@dataclass(frozen=True)
class GenerationLimits:
    family: str  # "cogvideox" | "synthetic" | "generic"
    temporal_compression: int = 1
    spatial_multiple: int = 8
    max_sequence_length: int | None = None


def _read_component_config(base: str, subfolder: str) -> dict:
    local = Path(base) / subfolder / "config.json"
    if local.is_file():
        return json.loads(local.read_text())
    from diffusers import ConfigMixin

    class _AnyConfig(ConfigMixin):
        config_name = "config.json"

    return _AnyConfig.load_config(base, subfolder=subfolder)


def _pipeline_class_name(base: str) -> str:
    local = Path(base) / "model_index.json"
    if local.is_file():
        return json.loads(local.read_text()).get("_class_name", "")
    from diffusers import DiffusionPipeline

    return DiffusionPipeline.load_config(base).get("_class_name", "")


def cogvideox_limits(transformer_config: dict, vae_config: dict) -> GenerationLimits:
    spatial_scale = 2 ** (len(vae_config.get("block_out_channels", (0, 0, 0, 0))) - 1)
    return GenerationLimits(
        family="cogvideox",
        temporal_compression=int(vae_config.get("temporal_compression_ratio", 4)),
        spatial_multiple=spatial_scale * int(transformer_config.get("patch_size", 2)),
        max_sequence_length=int(transformer_config.get("max_text_seq_length", 226)),
    )


def read_limits(base: str) -> GenerationLimits:
    """The model's rules from its config files only (cheap: no weights are read)."""
    if is_synthetic_base(base):
        return GenerationLimits(family="synthetic", spatial_multiple=2)
    if _pipeline_class_name(base).startswith("CogVideoX"):
        return cogvideox_limits(_read_component_config(base, "transformer"), _read_component_config(base, "vae"))
    return GenerationLimits(family="generic")


def limits_of(pipe) -> GenerationLimits:
    """The same rules read from a loaded pipeline."""
    if isinstance(pipe, SyntheticGenerator):
        return GenerationLimits(family="synthetic", spatial_multiple=2)
    if type(pipe).__name__.startswith("CogVideoX"):
        return cogvideox_limits(dict(pipe.transformer.config), dict(pipe.vae.config))
    return GenerationLimits(family="generic")


def valid_frame_counts_around(frames: int, step: int) -> tuple[int, int]:
    """The nearest counts of the form step·k+1 below and above `frames`."""
    below = frames - (frames - 1) % step
    return below, below + step


def validate_request(pipe_or_limits, spec: GeneratorSpec) -> None:
    """Raise InvalidRequest if the model cannot make what `spec` asks for; do it before any work."""
    spec.validate()
    limits = pipe_or_limits if isinstance(pipe_or_limits, GenerationLimits) else limits_of(pipe_or_limits)
    if limits.family == "synthetic":
        if spec.height % 2 or spec.width % 2 or min(spec.height, spec.width) < 16 or spec.frames < 4:
            raise InvalidRequest("synthetic videos need even sizes of at least 16 pixels and at least 4 frames")
        return
    multiple = limits.spatial_multiple
    if spec.height % multiple or spec.width % multiple:
        raise InvalidRequest(f"height and width must be multiples of {multiple}, got {spec.height}x{spec.width}")
    if limits.family != "cogvideox":
        return
    # CogVideoX is trained on 8k+1 frames (49 = 8·6+1): latents pair up in the VAE's decode batches.
    frame_step = 2 * limits.temporal_compression
    if (spec.frames - 1) % frame_step:
        below, above = valid_frame_counts_around(spec.frames, frame_step)
        raise InvalidRequest(f"frames must be {frame_step}k+1 for CogVideoX, got {spec.frames}; try {below} or {above}")
    if spec.max_sequence_length != limits.max_sequence_length:
        raise InvalidRequest(
            f"max_sequence_length must be {limits.max_sequence_length} for this model, got {spec.max_sequence_length}"
        )


# ---------------------------------------------------------------------------------------------
# Loading


def swap_scheduler(pipe, name: str) -> None:
    import diffusers

    cogvideox = type(pipe).__name__.startswith("CogVideoX")
    classes = {
        ("ddim", True): diffusers.CogVideoXDDIMScheduler,
        ("dpm", True): diffusers.CogVideoXDPMScheduler,
        ("ddim", False): diffusers.DDIMScheduler,
        ("dpm", False): diffusers.DPMSolverMultistepScheduler,
    }
    pipe.scheduler = classes[(name, cogvideox)].from_config(pipe.scheduler.config)


def load_pipeline(spec: GeneratorSpec, device: str | None = None):
    """Load the pipeline `spec` names, ready to call; synthetic bases return a SyntheticGenerator."""
    spec.validate()
    if is_synthetic_base(spec.base):
        return SyntheticGenerator.from_base(spec.base)
    import torch
    from diffusers import DiffusionPipeline

    device = resolve_device(device)
    # torch_dtype, not dtype: every diffusers version the project allows (>= 0.35) understands it.
    pipe = DiffusionPipeline.from_pretrained(spec.base, torch_dtype=resolve_dtype(spec.dtype, device))
    swap_scheduler(pipe, spec.scheduler)
    if spec.lora:
        pipe.load_lora_weights(spec.lora)
    if spec.cpu_offload and device.startswith("cuda"):
        pipe.enable_model_cpu_offload()
    else:
        pipe.to(device)
    apply_vae_memory(pipe, spec)
    if spec.compile:
        denoiser = "transformer" if getattr(pipe, "transformer", None) is not None else "unet"
        setattr(pipe, denoiser, torch.compile(getattr(pipe, denoiser)))
    pipe.set_progress_bar_config(disable=True)
    return pipe


def apply_vae_memory(pipe, spec: GeneratorSpec) -> MemoryProfile:
    """VAE slicing and tiling as `spec` says, or (None) as the denoiser's size calls for."""
    denoiser = getattr(pipe, "transformer", None) or getattr(pipe, "unet", None)
    profile = MemoryProfile.for_size(module_parameters(denoiser) if denoiser is not None else 0)
    vae = getattr(pipe, "vae", None)
    if vae is not None:
        if (profile.vae_tiling if spec.vae_tiling is None else spec.vae_tiling) and hasattr(vae, "enable_tiling"):
            vae.enable_tiling()
        if (profile.vae_slicing if spec.vae_slicing is None else spec.vae_slicing) and hasattr(vae, "enable_slicing"):
            vae.enable_slicing()
    return profile


class PipelineCache:
    """Loaded pipelines keyed by `GeneratorSpec.load_key()`: a worker loads a model once.

    Holds `capacity` pipelines (one by default: a GPU rarely fits two video models); the least
    recently used one is dropped and CUDA memory released before another loads.
    """

    def __init__(self, capacity: int = 1, loader: Callable[[GeneratorSpec], Any] = load_pipeline):
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.capacity = capacity
        self._loader = loader
        self._pipes: OrderedDict[tuple, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, spec: GeneratorSpec):
        key = spec.load_key()
        with self._lock:
            if key in self._pipes:
                self._pipes.move_to_end(key)
                return self._pipes[key]
            while len(self._pipes) >= self.capacity:
                self._pipes.popitem(last=False)
                _release_accelerator_memory()
            pipe = self._loader(spec)
            self._pipes[key] = pipe
            return pipe

    def __len__(self) -> int:
        return len(self._pipes)

    def clear(self) -> None:
        with self._lock:
            self._pipes.clear()
            _release_accelerator_memory()


def _release_accelerator_memory() -> None:
    import gc

    gc.collect()
    try:
        import torch

        if torch.cuda.is_available():
            torch.cuda.empty_cache()
    except ImportError:
        pass


# ---------------------------------------------------------------------------------------------
# Generating


def to_uint8_frames(video: np.ndarray) -> np.ndarray:
    """Pipeline output (float in [0, 1], [T, H, W, 3]) to uint8."""
    return np.clip(np.round(np.asarray(video, dtype=np.float32) * 255.0), 0, 255).astype(np.uint8)


def _call_arguments(pipe, prompt: str, seed: int, spec: GeneratorSpec, on_step_end) -> dict:
    import torch

    # A CPU generator gives the same noise for a seed on any device.
    candidates = {
        "prompt": prompt,
        "num_frames": spec.frames,
        "height": spec.height,
        "width": spec.width,
        "num_inference_steps": spec.steps,
        "guidance_scale": spec.guidance,
        "max_sequence_length": spec.max_sequence_length,
        "generator": torch.Generator("cpu").manual_seed(seed),
        "output_type": "np",
        "callback_on_step_end": on_step_end,
    }
    accepted = inspect.signature(pipe.__call__).parameters
    return {name: value for name, value in candidates.items() if name in accepted}


def generate(
    pipe,
    prompt: str,
    seed: int,
    spec: GeneratorSpec,
    on_progress: ProgressCallback | None = None,
) -> np.ndarray:
    """Generate one video: uint8 [frames, height, width, 3]. Same pipe, prompt, seed and spec → same frames.

    on_progress(fraction, phase) is called with phases "denoising", "decoding" and "done".
    """
    report = on_progress or (lambda fraction, phase: None)
    if isinstance(pipe, SyntheticGenerator):
        return pipe.generate(prompt, seed, spec, on_progress=report)
    import torch

    def on_step_end(pipeline, step, timestep, callback_kwargs):
        done = (step + 1) / spec.steps
        report(DENOISE_SHARE * done, "denoising")
        if step + 1 == spec.steps:
            report(DENOISE_SHARE, "decoding")
        return callback_kwargs

    report(0.0, "denoising")
    with torch.inference_mode():
        output = pipe(**_call_arguments(pipe, prompt, seed, spec, on_step_end))
    frames = to_uint8_frames(output.frames[0])
    report(1.0, "done")
    return frames
