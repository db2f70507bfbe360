"""Export a trained critic as a plain transformers (merged) or peft (adapter + base reference)
directory with a model card, loadable without the platform."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from .questions import DIMENSIONS, QUESTIONS, RATINGS
from .questions import RATING_REWARDS
from .spec import PROCESSOR_FILES, CriticMeta, VisionGeometry, save_processor_files


def model_card(meta: CriticMeta, *, data_description: str, merged: bool) -> str:
    metrics = json.dumps(meta.metrics, indent=2, sort_keys=True, default=str)
    loading = (
        "```python\nfrom transformers import AutoModelForImageTextToText, AutoTokenizer\n"
        "model = AutoModelForImageTextToText.from_pretrained(path)\ntokenizer = AutoTokenizer.from_pretrained(path)\n```"
        if merged else
        "```python\nfrom transformers import AutoModelForImageTextToText, AutoTokenizer\nfrom peft import PeftModel\n"
        f"base = AutoModelForImageTextToText.from_pretrained({meta.base!r})\n"
        "model = PeftModel.from_pretrained(base, path)\ntokenizer = AutoTokenizer.from_pretrained(path)\n```"
    )
    sizing = (f"aspect kept, {meta.min_pixels}–{meta.max_pixels} pixels per frame, as the processor sizes them"
              if meta.max_pixels else f"resized to {meta.frame_size[0]}×{meta.frame_size[1]}")
    questions = "\n".join(f"- **{d}**: {QUESTIONS[d]}" for d in DIMENSIONS)
    rewards = ", ".join(f"{r} {RATING_REWARDS[r]}" for r in RATINGS)
    return f"""---
library_name: {"transformers" if merged else "peft"}
tags: [video-critic, lift, reward-model]
---
# LiFT critic

A video critic in the LiFT format: given {meta.num_frames} frames sampled at equal intervals
({sizing}), the caption and one dimension question, it answers
`"<Good|Normal|Bad>. <reason>"`{"" if meta.with_reasons else " (trained without reasons: the rating word alone)"}.

Base model: `{meta.base}`. Format: {"merged full weights" if merged else "LoRA adapter over the base"}.

## Questions
{questions}

## Intended use
Scoring generated videos for alignment (reward = mean over dimensions of the expected rating reward,
{rewards}) and triaging videos for human review. Not a substitute for human judgement on content
outside the training data.

## Data
{data_description}

## Metrics (validation)
```json
{metrics}
```

## Loading
{loading}
The prompt is Qwen2-VL chat format: `<|im_start|>user\\n<|vision_start|>` + video tokens +
`<|vision_end|>{{caption}} {{question}}<|im_end|>\\n<|im_start|>assistant\\n`; the rating is read from the
probabilities of the tokens "Good", "Normal", "Bad" at the first answer position.
"""


def export_critic(train_out_dir: str | Path, export_dir: str | Path, *, merged: bool = True,
                  data_description: str = "Not described.") -> Path:
    """Copy a trained critic (train_critic's out_dir) to `export_dir` as merged weights or as the LoRA
    adapter with a reference to its base, with README.md (model card) and lift_critic.json."""
    train_out_dir, export_dir = Path(train_out_dir), Path(export_dir)
    critic_dir = train_out_dir / "critic"
    if not critic_dir.exists():
        raise FileNotFoundError(f"no trained critic in {train_out_dir} (expected {critic_dir})")
    meta = CriticMeta.load(critic_dir)
    tmp = export_dir.with_name(f".tmp-{export_dir.name}")
    shutil.rmtree(tmp, ignore_errors=True)
    adapter = critic_dir / "adapter"
    if merged or not adapter.exists():
        if not merged:
            raise ValueError("this critic was fully fine-tuned: there is no adapter to export; use merged=True")
        shutil.copytree(critic_dir, tmp, ignore=shutil.ignore_patterns("adapter"))
    else:
        shutil.copytree(adapter, tmp)
        for name in ("tokenizer.json", "tokenizer_config.json", "chat_template.jinja", "special_tokens_map.json",
                     *PROCESSOR_FILES):
            if (critic_dir / name).exists():
                shutil.copy2(critic_dir / name, tmp / name)
        meta.adapter = True
    from transformers import AutoConfig

    # A critic trained before its directory kept the processor config gets one, so AutoProcessor loads it.
    save_processor_files(tmp, meta.base, VisionGeometry.from_config(AutoConfig.from_pretrained(critic_dir)), meta)
    meta.save(tmp)
    (tmp / "README.md").write_text(model_card(meta, data_description=data_description, merged=merged))
    shutil.rmtree(export_dir, ignore_errors=True)
    tmp.rename(export_dir)
    return export_dir
