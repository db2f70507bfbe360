"""Write a LiFT-HRA file of the public release's size and shape, with its video folder.

    python bench/make_lift_hra.py --entries 20000 --out var/bench/lift_hra_20k

One entry per (video, dimension), three dimensions per video (LiFT-HRA-20K: 20k entries), in the mix of
phrasings the public material uses (see tests/snapshots/fixtures/README.md): the public critic's long
questions after the caption, the prompt inside the semantic question, the caption in its own field, the
paper's short questions; answers "Bad. reason", "good.", "  Normal.  reason". The videos are small
stand-in files (distinct bytes each; nothing decodes them), so the figure is the importer's own work.
"""
from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from annotation.snapshots.questions import PUBLIC_QUESTIONS  # noqa: E402  (no Django needed)

SHORT = {
    "semantic": "Please identify the semantic consistency issues in this video, focusing on the alignment between "
                "the text and the visual content.",
    "motion": "Please identify the motion issues in this video, focusing on the continuity and smoothness of actions.",
    "fidelity": "Please identify the fidelity issues in this video, such as blur, artifacts, deformed limbs.",
}
SUBJECTS = ("a crane", "a panda in a spacesuit", "two children", "a red fox", "an old man", "a goldfish", "a dancer")
PLACES = ("in a misty wetland", "on a space movie set", "on a windy beach", "in a teacup", "on a snowy hill")
ACTIONS = ("stands still", "wipes a control panel", "flies a kite", "juggles three balls", "turns around slowly")
REASONS = ("The {x} looks deformed in the middle frames.", "The {x} matches the text.",
           "Slight jitter when the {x} moves.", "The {x} is missing.")
LEVELS = ("Good", "Normal", "Bad")


def _human(rng: random.Random, caption: str, dim: str) -> tuple[dict, str]:
    """(extra entry fields, human turn) in one of the public phrasings."""
    style = rng.randrange(4)
    if style == 0:  # run_critic_13b.py: caption + long question, one <image> per frame
        return {}, "<image>\n" * 8 + caption + " " + PUBLIC_QUESTIONS[dim]
    if style == 1 and dim == "semantic":  # the prompt inside the question
        return {}, f"<video>\n{PUBLIC_QUESTIONS[dim]} For this video, the text prompt is: {caption}"
    if style == 2:  # the caption in its own field
        return {"caption": caption}, "<video>\n" + PUBLIC_QUESTIONS[dim]
    return {}, f"<video>\n {caption} {SHORT[dim]}"


def _answer(rng: random.Random, subject: str) -> str:
    level, reason = rng.choice(LEVELS), rng.choice(REASONS).format(x=subject)
    return rng.choice([f"{level}. {reason}", f"{level}.", f"{level.lower()}. {reason}", f"  {level}.  {reason} "])


def write_lift_hra(out: Path, entries: int, seed: int = 0) -> Path:
    """The folder with `lift_hra.json` and `videos/`; returns the JSON's path."""
    rng = random.Random(seed)
    (out / "videos").mkdir(parents=True, exist_ok=True)
    rows, video = [], 0
    while len(rows) < entries:
        subject = rng.choice(SUBJECTS)
        caption = (f"{subject.capitalize()} {rng.choice(ACTIONS)} {rng.choice(PLACES)}, shot {video}, "
                   f"with soft light and a slow camera.")
        name = f"videos/{video}.mp4"
        (out / name).write_bytes(f"stand-in video {video} {caption}".encode() * 8)
        for dim in ("semantic", "motion", "fidelity")[: entries - len(rows)]:
            extra, human = _human(rng, caption, dim)
            rows.append({"video": name, **extra, "conversations": [
                {"from": "human", "value": human}, {"from": "gpt", "value": _answer(rng, subject.split()[-1])}]})
        video += 1
    path = out / "lift_hra.json"
    path.write_text(json.dumps(rows, ensure_ascii=False, indent=1), encoding="utf-8")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--entries", type=int, default=20_000)
    parser.add_argument("--out", type=Path, default=ROOT / "var" / "bench" / "lift_hra_20k")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    path = write_lift_hra(args.out, args.entries, args.seed)
    print(f"wrote {args.entries} entries to {path}")


if __name__ == "__main__":
    main()
