"""A ~1M-parameter Qwen2-VL critic built entirely from configs, for tests, CI and the offline demo.

The tokenizer is made in memory with the `tokenizers` library: whole words of the synthetic world
(grammar, captions, the oracle's reasons, the dimension questions), punctuation, the rating words
as single tokens and the special tokens Qwen2-VL needs. Everything is written with
`save_pretrained`, so the same `from_pretrained(path)` code that loads a hub Qwen2-VL loads it.
"""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path

from ..synthetic.defects import DEFECT_KINDS, Defect, Defects
from ..synthetic.describe import DESCRIPTION_WORDS
from ..synthetic.grammar import COLOURS, COUNTS, MOTIONS, SCENES, SHAPES, SceneSpec
from ..synthetic.render import CLIP_FRAMES, CLIP_SIZE
from ..synthetic.oracle import oracle_judge
from ..tiny import CAPTION_WORDS
from .questions import MATCH_QUESTION, QUESTIONS, RATINGS, SPECIAL_TOKENS, WORLD_QUESTIONS
from .spec import CRITIC_META_FILE, CriticMeta

# The chat template (Qwen2-VL's, reduced to text and video parts) so apply_chat_template works.
CHAT_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}{% else %}"
    "{% for part in message['content'] %}"
    "{% if part['type'] == 'video' %}<|vision_start|><|video_pad|><|vision_end|>"
    "{% elif part['type'] == 'image' %}<|vision_start|><|image_pad|><|vision_end|>"
    "{% else %}{{ part['text'] }}{% endif %}{% endfor %}{% endif %}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)

EXTRA_WORDS = "user assistant system no obvious problems there are".split()


def _all_specs():
    for count, colour, shape, motion, scene in itertools.product(COUNTS.values(), COLOURS, SHAPES, MOTIONS, SCENES):
        yield SceneSpec(count, colour, shape, motion, scene)


def _oracle_texts() -> set[str]:
    """Every reason the oracle can write (semantic over all specs; motion/fidelity per shape × count)."""
    texts: set[str] = set()
    plain = {d: [Defect()] + [Defect(k, s) for k in DEFECT_KINDS[d] for s in ("mild", "severe")] for d in DEFECT_KINDS}
    for spec in _all_specs():
        for semantic in plain["semantic"]:
            texts.add(oracle_judge(spec, Defects(semantic=semantic))["semantic"].reason)
        if spec.colour == "red" and spec.scene == "on grass":
            for semantic, motion, fidelity in itertools.product(plain["semantic"], plain["motion"], plain["fidelity"]):
                defects = Defects(semantic=semantic, motion=motion, fidelity=fidelity)
                try:
                    judgements = oracle_judge(spec, defects)
                except ValueError:
                    continue
                texts.update(j.reason for j in judgements.values())
    return texts


def vocabulary() -> list[str]:
    """Word pieces ("▁word") in both cases, punctuation, then the rating words first in line."""
    corpus = [*COUNTS, *COLOURS, *SHAPES, *MOTIONS, *SCENES, *CAPTION_WORDS, *EXTRA_WORDS, *QUESTIONS.values(),
              MATCH_QUESTION, *WORLD_QUESTIONS.values(), *DESCRIPTION_WORDS]
    corpus += sorted(_oracle_texts())
    words = {w for text in corpus for w in re.findall(r"[A-Za-z]+", text)}
    words |= {w.capitalize() for w in words} | {w.lower() for w in words}
    numbers = sorted({w for w in DESCRIPTION_WORDS if w.isdigit()}, key=int)
    punctuation = list(".,:;!?'-()\"")
    return [f"▁{r}" for r in RATINGS] + sorted(f"▁{w}" for w in words - set(RATINGS)) + [f"▁{n}" for n in numbers] + punctuation


def build_tokenizer():
    """A word-level fast tokenizer: Metaspace + punctuation splits, specials split out first."""
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {token: i for i, token in enumerate([*SPECIAL_TOKENS, "\n", *vocabulary()])}
    core = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    core.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always"), pre_tokenizers.Punctuation("isolated")]
    )
    core.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
    core.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in SPECIAL_TOKENS])
    core.add_tokens([AddedToken("\n", special=False, normalized=False)])
    return PreTrainedTokenizerFast(
        tokenizer_object=core,
        unk_token="<unk>",
        pad_token="<|endoftext|>",
        eos_token="<|im_end|>",
        model_max_length=4096,
        chat_template=CHAT_TEMPLATE,
    )


def tiny_config(tokenizer, patch_size: int, temporal_patch_size: int, merge_size: int, seed_hidden: int = 64,
                initializer_range: float = 0.1, layers: int = 2, rope_theta: float = 100.0,
                vision_width: int | None = None, vision_layers: int | None = None):
    from transformers import Qwen2VLConfig

    ids = tokenizer.convert_tokens_to_ids
    hidden = seed_hidden
    heads = 4
    half_head = hidden // heads // 2  # M-RoPE sections (t, h, w) must add up to head_dim / 2
    # Height and width take the larger share, and a low rope_theta keeps their (lowest) frequencies
    # useful: at Qwen's 10000 with head_dim 16, positions 0..5 turned w by under 0.01 rad.
    mrope = [half_head - 2 * ((half_head + 1) // 3), (half_head + 1) // 3, (half_head + 1) // 3]
    return Qwen2VLConfig(
        text_config=dict(
            vocab_size=len(tokenizer),
            hidden_size=hidden,
            intermediate_size=2 * hidden,
            num_hidden_layers=layers,
            num_attention_heads=heads,
            num_key_value_heads=2,
            max_position_embeddings=4096,
            rope_parameters={"rope_type": "default", "rope_theta": rope_theta, "mrope_section": mrope},
        bos_token_id=ids("<|endoftext|>"),
            eos_token_id=ids("<|im_end|>"),
            pad_token_id=ids("<|endoftext|>"),
            initializer_range=initializer_range,
        ),
        vision_config=dict(
            depth=vision_layers or layers,
            embed_dim=vision_width or hidden,
            hidden_size=hidden,  # the merger's output: the language model's width
            num_heads=heads,
            mlp_ratio=2,
            in_channels=3,
            patch_size=patch_size,
            spatial_merge_size=merge_size,
            temporal_patch_size=temporal_patch_size,
            initializer_range=initializer_range,
        ),
        image_token_id=ids("<|image_pad|>"),
        video_token_id=ids("<|video_pad|>"),
        vision_start_token_id=ids("<|vision_start|>"),
        vision_end_token_id=ids("<|vision_end|>"),
        tie_word_embeddings=False,
        initializer_range=initializer_range,
    )


def save_processor(out_dir: Path, tokenizer, image_processor) -> None:
    """Save a Qwen2VLProcessor where one can be built, else its tokenizer and image processor.

    In transformers 5.x Qwen2VLProcessor insists on a Qwen2VLVideoProcessor, which needs torchvision;
    without it the tokenizer (with chat template) and the PIL image processor are saved on their own
    and the critic does its own video patching (spec.patchify), so nothing else changes.
    """
    from transformers import Qwen2VLProcessor
    from transformers.utils import is_torchvision_available

    if is_torchvision_available():
        from transformers import Qwen2VLVideoProcessor

        video_processor = Qwen2VLVideoProcessor(
            patch_size=image_processor.patch_size, temporal_patch_size=image_processor.temporal_patch_size,
            merge_size=image_processor.merge_size, size=dict(image_processor.size),
        )
        Qwen2VLProcessor(image_processor=image_processor, tokenizer=tokenizer, video_processor=video_processor,
                         chat_template=CHAT_TEMPLATE).save_pretrained(out_dir)
        return
    tokenizer.save_pretrained(out_dir)
    image_processor.save_pretrained(out_dir)


def build_tiny_critic(
    out_dir: str | Path,
    *,
    seed: int = 0,
    num_frames: int = CLIP_FRAMES,
    frame_size: tuple[int, int] = CLIP_SIZE,
    patch_size: int = 4,
    temporal_patch_size: int | None = None,
    merge_size: int = 2,
    hidden_size: int = 64,
    layers: int = 2,
    initializer_range: float = 0.02,
    vision_width: int | None = None,
    vision_layers: int | None = None,
) -> Path:
    """Save a tiny random-weight Qwen2-VL critic (model, tokenizer, processor, critic meta) to out_dir.

    The tiny world's 9 frames of 48×48 at patch 4 and merge 2 give 12×12 patches, 36 video tokens. The
    temporal patch spans the whole clip (temporal_patch_size None = num_frames): Qwen2-VL's vision
    attention only mixes patches of one temporal slot, so with two-frame slots the tower could never
    compare frames and motion was left to the tiny language model.
    initializer_range is Qwen's 0.02: with 0.1 the vision tower learnt where the objects are three
    times slower (a probe of its tokens explained 29% of the objects' coverage after 300 steps, against
    75% from 0.02).
    vision_width / vision_layers size the vision tower apart from the language model (None: the same
    hidden_size / layers); its merger still hands the language model hidden_size-wide tokens.
    """
    import torch
    from transformers import Qwen2VLForConditionalGeneration, Qwen2VLImageProcessorPil

    temporal_patch_size = temporal_patch_size or num_frames
    factor = patch_size * merge_size
    if frame_size[0] % factor or frame_size[1] % factor:
        raise ValueError(f"frame_size {frame_size} must be multiples of patch_size*merge_size={factor}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    tokenizer = build_tokenizer()
    torch.manual_seed(seed)
    config = tiny_config(tokenizer, patch_size, temporal_patch_size, merge_size, hidden_size, initializer_range, layers,
                         vision_width=vision_width, vision_layers=vision_layers)
    model = Qwen2VLForConditionalGeneration(config)
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.save_pretrained(out_dir)
    pixels = frame_size[0] * frame_size[1]
    image_processor = Qwen2VLImageProcessorPil(
        patch_size=patch_size, temporal_patch_size=temporal_patch_size, merge_size=merge_size,
        size={"shortest_edge": pixels, "longest_edge": pixels},
    )
    save_processor(out_dir, tokenizer, image_processor)
    CriticMeta(num_frames=num_frames, frame_size=frame_size, base=str(out_dir), origin="tiny").save(out_dir)
    return out_dir
