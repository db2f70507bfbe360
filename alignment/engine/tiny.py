"""Tiny random-weight models built entirely from configs, for tests and the offline demo.

They are saved with `save_pretrained` and loaded back through the same `from_pretrained(path)`
code that loads hub models in production, so tests exercise the real loading path without any
download. Sizes are the smallest the architectures accept; building takes about a second.
(The tiny critic lives in `alignment/engine/critic/tiny.py`.)
"""

from __future__ import annotations

from pathlib import Path

from .synthetic.grammar import COLOURS, COUNTS, MOTIONS, SCENES, SHAPES

# Words beyond the grammar that the template expander writes, so captions tokenise to words too.
CAPTION_WORDS = (
    "a an the of and with in on at is are as to its their this that video shows shot scene "
    "detailed single continuous steady lighting natural colours smooth realistic motion camera "
    "stays still subject view clear sharp frame frames background four"
).split()

TINY_TEXT_SEQ_LENGTH = 16
TINY_TEXT_DIM = 32


def vocabulary_words() -> list[str]:
    """Whole words the tiny tokenizers know: the synthetic grammar plus caption words."""
    phrases = [*COUNTS, *COLOURS, *SHAPES, *(f"{shape}s" for shape in SHAPES), *MOTIONS, *SCENES, *CAPTION_WORDS]
    return sorted({word for phrase in phrases for word in phrase.split()})


def build_t5_tokenizer():
    """A T5 (Unigram) tokenizer made in memory: grammar words as whole pieces, letters as fallback."""
    from transformers import T5Tokenizer

    specials = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0), ("▁", -2.0)]
    words = [(f"▁{word}", -1.0) for word in vocabulary_words()]
    letters = [(char, -5.0) for char in "abcdefghijklmnopqrstuvwxyz0123456789.,:;!?'-"]
    return T5Tokenizer(vocab=specials + words + letters, extra_ids=0)


def build_tiny_cogvideox(out_dir: str | Path, seed: int = 0) -> Path:
    """Save a tiny CogVideoX pipeline to `out_dir`: 9 frames (8k+1) at 32×32 in well under a second.

    Shapes: VAE with 4 blocks (spatial ×8, temporal ×4), transformer patch 2, so heights and widths
    must be multiples of 16; text length 16 tokens of width 32.
    """
    import torch
    from diffusers import (
        AutoencoderKLCogVideoX,
        CogVideoXDDIMScheduler,
        CogVideoXPipeline,
        CogVideoXTransformer3DModel,
    )
    from transformers import T5Config, T5EncoderModel

    out_dir = Path(out_dir)
    tokenizer = build_t5_tokenizer()
    torch.manual_seed(seed)
    transformer = CogVideoXTransformer3DModel(
        num_attention_heads=4,
        attention_head_dim=8,  # heads × dim must be divisible by 16 for the 3-D position embedding
        in_channels=4,
        out_channels=4,
        time_embed_dim=2,
        text_embed_dim=TINY_TEXT_DIM,
        num_layers=1,
        sample_width=4,  # latent 4 → 32 pixels
        sample_height=4,
        sample_frames=9,  # latent (9 - 1) / 4 + 1 = 3
        patch_size=2,
        temporal_compression_ratio=4,
        max_text_seq_length=TINY_TEXT_SEQ_LENGTH,
    )
    vae = AutoencoderKLCogVideoX(
        in_channels=3,
        out_channels=3,
        down_block_types=("CogVideoXDownBlock3D",) * 4,
        up_block_types=("CogVideoXUpBlock3D",) * 4,
        block_out_channels=(8, 8, 8, 8),
        latent_channels=4,
        layers_per_block=1,
        norm_num_groups=2,
        temporal_compression_ratio=4,
    )
    text_encoder = T5EncoderModel(
        T5Config(
            vocab_size=len(tokenizer),
            d_model=TINY_TEXT_DIM,
            d_kv=8,
            d_ff=37,
            num_layers=2,
            num_heads=4,
            relative_attention_num_buckets=8,
            dropout_rate=0.0,
        )
    )
    pipeline = CogVideoXPipeline(
        tokenizer=tokenizer,
        text_encoder=text_encoder,
        vae=vae,
        transformer=transformer,
        scheduler=CogVideoXDDIMScheduler(),
    )
    pipeline.save_pretrained(out_dir)
    return out_dir


def build_tiny_cogvideox_lora(base_dir: str | Path, out_dir: str | Path, rank: int = 4, seed: int = 0) -> Path:
    """Save a random LoRA for the tiny transformer in the diffusers format (`load_lora_weights`).

    Both LoRA matrices are random (peft's default zero-initialises B, which would change nothing).
    """
    import torch
    from diffusers import CogVideoXPipeline, CogVideoXTransformer3DModel
    from peft import LoraConfig
    from peft.utils import get_peft_model_state_dict

    out_dir = Path(out_dir)
    transformer = CogVideoXTransformer3DModel.from_pretrained(base_dir, subfolder="transformer")
    torch.manual_seed(seed)
    transformer.add_adapter(
        LoraConfig(r=rank, lora_alpha=rank, init_lora_weights=False, target_modules=["to_q", "to_k", "to_v", "to_out.0"])
    )
    CogVideoXPipeline.save_lora_weights(out_dir, transformer_lora_layers=get_peft_model_state_dict(transformer))
    return out_dir


CHAT_TEMPLATE = (
    "{% for message in messages %}<|{{ message['role'] }}|> {{ message['content'] }} </s> {% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}"
)


def build_tiny_causal_lm(out_dir: str | Path, seed: int = 0) -> Path:
    """Save a tiny random Llama with a word-level tokenizer and a chat template (prompt expander tests)."""
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers, decoders
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    out_dir = Path(out_dir)
    specials = ["<unk>", "<s>", "</s>", "<|system|>", "<|user|>", "<|assistant|>"]
    vocab = {token: index for index, token in enumerate([*specials, *vocabulary_words()])}
    backend = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.Whitespace()
    backend.decoder = decoders.WordPiece(prefix="##")  # joins words with spaces
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend,
        unk_token="<unk>",
        bos_token="<s>",
        eos_token="</s>",
        pad_token="</s>",
        additional_special_tokens=specials[3:],
    )
    tokenizer.chat_template = CHAT_TEMPLATE
    torch.manual_seed(seed)
    model = LlamaForCausalLM(
        LlamaConfig(
            vocab_size=len(vocab),
            hidden_size=16,
            intermediate_size=32,
            num_hidden_layers=1,
            num_attention_heads=2,
            num_key_value_heads=1,
            max_position_embeddings=256,
            bos_token_id=vocab["<s>"],
            eos_token_id=vocab["</s>"],
            pad_token_id=vocab["</s>"],
        )
    )
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    return out_dir


def build_tiny_clip(out_dir: str | Path, seed: int = 0) -> Path:
    """Save a tiny random CLIP (model, word-level tokenizer, image processor): the shape of an image-text
    reward model such as HPSv2, for edit_reward's wiring tests."""
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import CLIPConfig, CLIPImageProcessorPil, CLIPModel, PreTrainedTokenizerFast

    out_dir = Path(out_dir)
    specials = ["<pad>", "<unk>", "<s>", "</s>"]
    vocab = {token: index for index, token in enumerate([*specials, *vocabulary_words()])}
    backend = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=backend, unk_token="<unk>", pad_token="<pad>",
                                        bos_token="<s>", eos_token="</s>", model_max_length=32)
    torch.manual_seed(seed)
    model = CLIPModel(CLIPConfig(
        text_config=dict(vocab_size=len(vocab), hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                         num_attention_heads=2, max_position_embeddings=32, pad_token_id=0, bos_token_id=2,
                         eos_token_id=3),
        vision_config=dict(hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=2,
                           image_size=32, patch_size=8),
        projection_dim=16,
    ))
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    CLIPImageProcessorPil(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32}).save_pretrained(out_dir)
    return out_dir
