import itertools

import numpy as np
import pytest

from alignment.engine.synthetic import (
    DEFECT_KINDS,
    Defect,
    Defects,
    PromptParseError,
    SceneSpec,
    SyntheticGenerator,
    colour_reward,
    colour_reward_fn,
    oracle_judge,
    parse_prompt,
    render,
    sample_defects,
    sample_prompt,
)
from alignment.engine.synthetic.defects import shown_colour, shown_count
from alignment.engine.synthetic.grammar import COLOURS, COUNTS, MOTIONS, SCENES, SHAPES

ALL_SPECS = [SceneSpec(*combo) for combo in itertools.product(COUNTS.values(), COLOURS, SHAPES, MOTIONS, SCENES)]
EVERY_DEFECT = [
    (dimension, kind, severity)
    for dimension, kinds in DEFECT_KINDS.items()
    for kind in kinds
    for severity in ("mild", "severe")
]


def defects_with(dimension, kind, severity):
    return Defects(**{dimension: Defect(kind, severity)})


def object_mask(frames, spec):
    background = np.array(SCENES[spec.scene], dtype=float)
    return np.linalg.norm(frames.astype(float) - background, axis=-1) > 30


def count_blobs(mask):
    """4-connected components of a 2-D boolean mask."""
    seen = np.zeros_like(mask)
    blobs = 0
    for start in zip(*np.nonzero(mask)):
        if seen[start]:
            continue
        blobs += 1
        stack = [start]
        seen[start] = True
        while stack:
            y, x = stack.pop()
            for ny, nx in ((y + 1, x), (y - 1, x), (y, x + 1), (y, x - 1)):
                if 0 <= ny < mask.shape[0] and 0 <= nx < mask.shape[1] and mask[ny, nx] and not seen[ny, nx]:
                    seen[ny, nx] = True
                    stack.append((ny, nx))
    return blobs


def centroid_x(frames, spec):
    mask = object_mask(frames, spec)
    return np.array([np.nonzero(m)[1].mean() for m in mask])


# --- grammar -------------------------------------------------------------------------------


def test_every_prompt_of_the_grammar_round_trips():
    for spec in ALL_SPECS:
        assert parse_prompt(spec.to_text()) == spec


def test_parse_finds_the_grammar_inside_longer_text():
    text = "A detailed shot: Two BLUE squares, bouncing in a blue sky. Cinematic lighting."
    assert parse_prompt(text) == SceneSpec(2, "blue", "square", "bouncing", "in a blue sky")


def test_parse_defaults_and_refusal():
    assert parse_prompt("a red circle") == SceneSpec(1, "red", "circle", MOTIONS[0], next(iter(SCENES)))
    with pytest.raises(PromptParseError, match="colour"):
        parse_prompt("a dog running on a beach")


def test_sample_prompt_is_seeded():
    first = [sample_prompt(np.random.default_rng(3)) for _ in range(2)]
    assert first[0] == first[1]


# --- renderer and oracle -------------------------------------------------------------------


def test_clean_videos_are_all_good():
    rng = np.random.default_rng(0)
    for _ in range(10):
        spec = sample_prompt(rng)
        judgements = oracle_judge(spec, Defects.clean())
        assert {j.rating for j in judgements.values()} == {"Good"}
        assert judgements["semantic"].answer == f"Good. The video shows {spec.to_text()}, as the prompt asks."


@pytest.mark.parametrize("dimension, kind, severity", EVERY_DEFECT)
def test_each_defect_gets_its_rating_and_shows(dimension, kind, severity):
    spec = SceneSpec(2, "red", "square", "moving right", "on a grey floor")
    defects = defects_with(dimension, kind, severity)
    judgements = oracle_judge(spec, defects)
    expected = {"mild": "Normal", "severe": "Bad"}[severity]
    assert judgements[dimension].rating == expected
    assert all(j.rating == "Good" for d, j in judgements.items() if d != dimension)
    assert not np.array_equal(render(spec, defects), render(spec, Defects.clean()))


def test_reason_wording_for_wrong_count():
    spec = SceneSpec(3, "red", "circle", "bouncing", "on grass")
    judgement = oracle_judge(spec, defects_with("semantic", "wrong_count", "severe"))["semantic"]
    assert judgement.answer == "Bad. Two circles appear instead of three."


@pytest.mark.parametrize("severity", ["none", "mild", "severe"])
@pytest.mark.parametrize("shape", SHAPES)
def test_the_count_on_screen_is_the_count_the_oracle_states(shape, severity):
    for count in COUNTS.values():
        spec = SceneSpec(count, "yellow", shape, "spinning", "in a dark room")
        defects = defects_with("semantic", "wrong_count", severity) if severity != "none" else Defects.clean()
        frames = render(spec, defects, frames=8)
        first_half, second_half = shown_count(spec, defects)
        masks = object_mask(frames, spec)
        assert [count_blobs(m) for m in masks] == [first_half] * 4 + [second_half] * 4


@pytest.mark.parametrize("severity", ["none", "mild", "severe"])
def test_the_colour_on_screen_is_the_colour_the_oracle_states(severity):
    spec = SceneSpec(1, "green", "square", "moving left", "on sand")
    defects = defects_with("semantic", "wrong_colour", severity) if severity != "none" else Defects.clean()
    frames = render(spec, defects)
    painted = frames[object_mask(frames, spec)]
    colours, counts = np.unique(painted, axis=0, return_counts=True)
    _, rgb = shown_colour(spec, defects)
    # The objects' bodies (not their dots or anti-aliased rims) are painted in the shown colour.
    assert tuple(colours[counts.argmax()]) == rgb


def test_directions_on_screen():
    spec = SceneSpec(1, "blue", "circle", "moving left", "on a grey floor")
    assert np.all(np.diff(centroid_x(render(spec), spec)) < 0)
    reversed_ = render(spec, defects_with("semantic", "wrong_motion", "severe"))
    assert np.all(np.diff(centroid_x(reversed_, spec)) > 0)
    still = render(spec, defects_with("semantic", "wrong_motion", "mild"))
    assert all(np.array_equal(still[0], frame) for frame in still)


def repeated_frames(frames):
    return sum(np.array_equal(a, b) for a, b in zip(frames[:-1], frames[1:]))


def test_stutter_repeats_frames_and_drops_skip_ahead():
    spec = SceneSpec(1, "white", "triangle", "moving right", "on grass")
    assert repeated_frames(render(spec)) == 0
    assert repeated_frames(render(spec, defects_with("motion", "stutter", "mild"))) == 1
    assert repeated_frames(render(spec, defects_with("motion", "stutter", "severe"))) >= 7
    steps = np.diff(centroid_x(render(spec, defects_with("motion", "frame_drop", "mild")), spec))
    assert steps.max() > 2.5 * np.median(steps)


def test_picture_damage_grows_with_severity():
    spec = SceneSpec(2, "purple", "circle", "bouncing", "on a grey floor")
    clean = render(spec).astype(float)
    for kind in DEFECT_KINDS["fidelity"]:
        errors = [np.abs(render(spec, defects_with("fidelity", kind, s)) - clean).mean() for s in ("mild", "severe")]
        assert 0 < errors[0] < errors[1], kind


def test_still_objects_refuse_invisible_motion_defects():
    defects = Defects(semantic=Defect("wrong_motion", "mild"), motion=Defect("stutter", "severe"))
    with pytest.raises(ValueError, match="not be visible"):
        defects.validate()


def test_sampled_defects_are_recoverable_and_valid():
    rng = np.random.default_rng(1)
    samples = [sample_defects(rng, p_clean=0.3) for _ in range(200)]
    for defects in samples:
        assert Defects.from_dict(defects.to_dict()) == defects
    assert any(d == Defects.clean() for d in samples) and any(d != Defects.clean() for d in samples)


def test_render_is_deterministic_by_seed():
    spec = SceneSpec(2, "red", "circle", "moving left", "on grass")
    defects = Defects(motion=Defect("jitter", "severe"), fidelity=Defect("noise", "mild"))
    assert np.array_equal(render(spec, defects, seed=5), render(spec, defects, seed=5))
    assert not np.array_equal(render(spec, defects, seed=5), render(spec, defects, seed=6))


# --- reward and generator ------------------------------------------------------------------


def test_colour_reward_prefers_the_right_colour():
    spec = SceneSpec(2, "red", "circle", "moving right", "on a grey floor")
    right = colour_reward(render(spec), spec)
    wrong = colour_reward(render(spec, defects_with("semantic", "wrong_colour", "severe")), spec)
    halfway = colour_reward(render(spec, defects_with("semantic", "wrong_colour", "mild")), spec)
    assert right > 0.9 and right > halfway > wrong


def test_torch_reward_matches_numpy_and_has_gradients():
    import torch

    spec = SceneSpec(3, "yellow", "triangle", "spinning", "in a blue sky")
    frames = render(spec, defects_with("fidelity", "blur", "mild"))
    video = torch.tensor(frames, dtype=torch.float64).permute(0, 3, 1, 2)[None] / 255.0
    video.requires_grad_(True)
    reward = colour_reward_fn(video, [spec.to_text()])
    assert reward.shape == (1,)
    assert reward.item() == pytest.approx(colour_reward(frames, spec), rel=1e-9)
    reward.sum().backward()
    assert video.grad.abs().sum() > 0


class _Spec:
    frames, height, width = 8, 32, 48


def test_synthetic_generator_truth_matches_its_video():
    generator = SyntheticGenerator.from_base("synthetic://world?p_clean=0.0")
    prompt = "three green circles bouncing on sand"
    phases = []
    frames = generator.generate(prompt, seed=11, spec=_Spec, on_progress=lambda f, p: phases.append(p))
    truth = generator.truth(prompt, seed=11)
    assert frames.shape == (8, 32, 48, 3) and frames.dtype == np.uint8
    assert np.array_equal(frames, render(truth.spec, truth.defects, frames=8, size=(32, 48), seed=11))
    assert all(j.rating != "Good" for j in truth.judgements.values())  # p_clean=0: every dimension damaged
    assert phases[-1] == "done"
    clean = SyntheticGenerator.from_base("synthetic://clean").truth(prompt, seed=11)
    assert clean.defects == Defects.clean()


def test_synthetic_generator_draws_defects_per_prompt_and_seed():
    """Prompts × seeds make as many defect draws as videos, not one per seed repeated on every prompt."""
    generator = SyntheticGenerator.from_base("synthetic://world")
    prompts = ["three green circles bouncing on sand", "a red square moving left on grass",
               "two blue triangles spinning in the sky", "four yellow circles moving right in a room"]
    draws = [generator.truth(prompt, seed).defects for prompt in prompts for seed in range(6)]
    assert len({repr(d.to_dict()) for d in draws}) > 12
    assert generator.truth(prompts[0], 3) == generator.truth(prompts[0], 3)
