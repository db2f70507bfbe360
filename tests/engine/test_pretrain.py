"""The pretrained tiny models of the synthetic world: shipped in the repository, loaded through the stock
from_pretrained path, described by a model card whose digest matches the weights, and rebuilt bit for bit
by the build (a miniature build twice here; the full one is `manage.py build_tiny_models --pretrained
--from-scratch`)."""

import re

import pytest

from alignment.engine.pretrain import CRITIC, GENERATOR, WEIGHTS_DIR, install_shipped, weights_digest


def test_shipped_weights_are_small_and_their_cards_name_their_digest():
    total = sum(p.stat().st_size for p in WEIGHTS_DIR.rglob("*") if p.is_file())
    assert total <= 20 * 1024 * 1024, f"{total / 1e6:.1f} MB shipped"
    for name in (CRITIC, GENERATOR):
        card = (WEIGHTS_DIR / name / "README.md").read_text()
        assert "build_tiny_models --pretrained --from-scratch" in card
        assert re.search(r"sha256 \(all safetensors\): `([0-9a-f]{64})`", card).group(1) == weights_digest(WEIGHTS_DIR / name)


def test_shipped_models_load_with_the_stock_classes(tmp_path):
    from diffusers import CogVideoXPipeline
    from transformers import AutoModelForImageTextToText

    from alignment.engine.critic.spec import CriticMeta

    installed = install_shipped(tmp_path)
    critic = AutoModelForImageTextToText.from_pretrained(installed[CRITIC])
    assert type(critic).__name__ == "Qwen2VLForConditionalGeneration"
    assert CriticMeta.load(installed[CRITIC]).origin == "pretrained"
    pipe = CogVideoXPipeline.from_pretrained(installed[GENERATOR])
    assert pipe.scheduler.config.prediction_type == "v_prediction"
    assert install_shipped(tmp_path) == installed  # a second install copies nothing again
    weights = installed[CRITIC] / "model.safetensors"
    stamp = weights.stat().st_mtime_ns
    assert install_shipped(tmp_path) and weights.stat().st_mtime_ns == stamp  # nothing copied again
    (installed[CRITIC] / "README.md").write_text("# an older build's card")  # the repository moved on
    weights.write_bytes(b"older weights")
    install_shipped(tmp_path)
    assert weights.read_bytes() == (WEIGHTS_DIR / CRITIC / "model.safetensors").read_bytes()


@pytest.mark.slow
def test_the_build_is_deterministic(tmp_path):
    from alignment.engine.pretrain.build import build_pretrained
    from alignment.engine.pretrain.critic import PretrainConfig
    from alignment.engine.pretrain.generator import GeneratorPretrainConfig

    critic = PretrainConfig(videos=12, eval_videos=4, steps=3, batch_size=4)
    generator = GeneratorPretrainConfig(videos=8, vae_steps=3, vae_full_steps=1, vae_batch_size=2,
                                        transformer_steps=2, transformer_batch_size=2)
    digests = []
    for run in ("a", "b"):
        build_pretrained(tmp_path / run, critic=critic, generator=generator)
        digests.append({name: weights_digest(tmp_path / run / name) for name in (CRITIC, GENERATOR)})
    assert digests[0] == digests[1]


def test_more_phases_on_a_built_critic_give_the_from_scratch_build_with_those_phases(tmp_path):
    """extend_critic goes on from a build instead of starting again: the weights equal a build with the phases
    summed (a last phase on stored renders alone included), and the card names them all."""
    import json

    from alignment.engine.pretrain.build import build_critic, extend_critic
    from alignment.engine.pretrain.critic import PretrainConfig

    small = PretrainConfig(videos=8, eval_videos=4, steps=2, batch_size=4)
    build_critic(tmp_path / "whole", PretrainConfig(**{**small.__dict__, "phases": 3, "final_stored_share": 1.0}))
    build_critic(tmp_path / "first", PretrainConfig(**{**small.__dict__, "phases": 2, "final_stored_share": None}))
    extend_critic(tmp_path / "first" / CRITIC, tmp_path / "then", more_phases=1, final_stored_share=1.0)
    extend_critic(tmp_path / "first" / CRITIC, tmp_path / "mixed", more_phases=1)
    assert weights_digest(tmp_path / "then" / CRITIC) == weights_digest(tmp_path / "whole" / CRITIC)
    assert len({weights_digest(tmp_path / run / CRITIC) for run in ("then", "mixed", "first")}) == 3
    built = json.loads((tmp_path / "then" / CRITIC / "pretrain.json").read_text())
    assert built["config"] == json.loads((tmp_path / "whole" / CRITIC / "pretrain.json").read_text())["config"]
    assert len(built["metrics"]["phases"]) == len(built["loss_curves"]) == 3
    assert '"phases": 3' in (tmp_path / "then" / CRITIC / "README.md").read_text()
    with pytest.raises(ValueError, match="share of its own"):  # its last phase would no longer be the last
        extend_critic(tmp_path / "whole" / CRITIC, tmp_path / "again")


@pytest.mark.parametrize("changes", [{"phases": 0}, {"stored_share": -0.1}, {"final_stored_share": 1.5}])
def test_a_build_without_phases_or_with_a_share_outside_0_to_1_is_refused(tmp_path, changes):
    from alignment.engine.pretrain.critic import PretrainConfig, pretrain_critic

    with pytest.raises(ValueError, match="phases must be at least 1 and the stored shares within"):
        pretrain_critic(tmp_path / "nowhere", tmp_path / "out", PretrainConfig(**changes))


def test_fact_probes_that_read_the_tokens_spread_train_the_tower_differently(tmp_path):
    """fact_readout "mean+std" adds probes on the tokens' mean and spread: the same seed pretrains other weights;
    an unknown readout is refused."""
    from alignment.engine.critic.tiny import build_tiny_critic
    from alignment.engine.pretrain.critic import PretrainConfig, pretrain_critic

    base = build_tiny_critic(tmp_path / "random", seed=0)
    small = PretrainConfig(videos=8, eval_videos=4, steps=2, batch_size=4, fact_weight=1.0)
    for readout in ("mean", "mean+std"):
        pretrain_critic(base, tmp_path / readout, PretrainConfig(**{**small.__dict__, "fact_readout": readout}))
    assert weights_digest(tmp_path / "mean") != weights_digest(tmp_path / "mean+std")
    with pytest.raises(ValueError, match="fact_readout"):
        pretrain_critic(base, tmp_path / "bad", PretrainConfig(**{**small.__dict__, "fact_readout": "max"}))


def test_the_semantic_answer_says_how_far_the_video_is_from_the_prompt_first():
    """Its first word is the severity ("yes" / "slightly" / "no"), where the rating is later read; what differs
    follows. The words follow the renderer's facts, and agree with the oracle's semantic rating."""
    import numpy as np

    from alignment.engine.pretrain.critic import _match_answer
    from alignment.engine.synthetic import sample_defects, sample_prompt
    from alignment.engine.synthetic.oracle import oracle_judge

    rng, seen = np.random.default_rng(0), set()
    for _ in range(600):
        spec, defects = sample_prompt(rng), sample_defects(rng, 0.4)
        try:
            rating = oracle_judge(spec, defects)["semantic"].rating
        except ValueError:  # a collision the world refuses
            continue
        answer = _match_answer(spec, defects, spec)
        assert answer.split()[0] == {"Good": "yes", "Normal": "slightly", "Bad": "no"}[rating], (answer, rating)
        seen.add(answer)
    assert {"slightly colour", "slightly count", "slightly motion", "no colour", "no count", "no motion"} <= seen


def test_the_motion_answer_names_its_flaw_first():
    """The motion answer starts with what is wrong with the motion ("even", "one skip", "slight shake",
    "repeats", ...), whose first word tells how bad it is, and then names the motion shown."""
    import numpy as np

    from alignment.engine.pretrain.critic import _motion_answer
    from alignment.engine.synthetic import sample_defects, sample_prompt
    from alignment.engine.synthetic.describe import facts
    from alignment.engine.synthetic.oracle import oracle_judge

    severity_words = {"Good": {"even"}, "Normal": {"one", "slight"}, "Bad": {"repeats", "skips", "strong"}}
    rng, seen = np.random.default_rng(1), set()
    for _ in range(600):
        spec, defects = sample_prompt(rng), sample_defects(rng, 0.4)
        told = facts(spec, defects)
        answer = _motion_answer(told)
        flaw, shown = answer.split(", ")
        assert flaw.split()[0] in severity_words[oracle_judge(spec, defects)["motion"].rating], answer
        assert shown == told["motion"]
        seen.add(flaw)
    assert seen == {"even", "one repeat", "one skip", "slight shake", "repeats", "skips", "strong shake"}
