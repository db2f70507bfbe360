"""The whole loop in the synthetic world, as a user would run it: simulated annotators rate the pretrained
tiny generator's videos over HTTP, a retrain_loop trains a critic on their ratings, scores the generator's
own samples, aligns it and promotes what is better; then the new generator makes the next round.

The truth for the generator's videos is the pixel judge (alignment/engine/synthetic/judge.py): the
simulated annotators answer from it with noise, and it measures the held-out videos before and after.
bench/loop_bench.py sets Django up, gives an HTTP server and calls `run_chain`; tests/loop/test_loop_improves.py
runs one CI-sized round of it (bench/RESULTS.md "5").
"""

from __future__ import annotations

import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from alignment.engine.synthetic.defects import DIMENSIONS

WORLD = {"frames": 9, "height": 48, "width": 48, "fps": 8, "max_sequence_length": 16, "dtype": "float32"}


@dataclass
class ChainSize:
    rated_prompts: int = 25  # × rated_seeds videos rated by `overlap` annotators each
    rated_seeds: tuple[int, ...] = (0, 1, 2, 3)
    # world renders rated beside them in each round's campaign (prompts × seeds): other generators' videos, as in
    # LiFT-HRA, which show the critic what Good looks like where the tiny generator never makes it
    world_prompts: int = 0
    world_seeds: tuple[int, ...] = (0,)
    # world renders rated once each, in a campaign of their own before round 0, and in every round's snapshot: a
    # public dataset the team starts from (as LiFT-HRA, other generators' videos), not rated again each round
    library_prompts: int = 0
    library_seeds: tuple[int, ...] = (0, 1)
    overlap: int = 3
    annotators: int | None = None  # simulated annotators sharing the work; None: as many as the overlap
    noise: float = 0.1
    candidate_count: int = 32  # prompts × candidate_seeds the base generates for alignment
    candidate_seeds: tuple[int, ...] = (10, 11)
    heldout_count: int = 32  # × heldout_seeds, fixed across rounds
    heldout_seeds: tuple[int, ...] = (100, 101)
    sample_steps: int = 20
    guidance: float = 4.0
    critic: dict = field(default_factory=dict)  # train_critic params beyond the recipe's defaults
    align: dict = field(default_factory=lambda: {"steps": 150, "batch_size": 8, "lora_rank": 16, "learning_rate": 1e-3,
                                                 "real_weight": 0.0, "checkpoint_every": 50})
    rounds: int = 2
    # each round's snapshot takes every campaign rated so far, as a scheduled loop takes the ratings as they
    # accumulate; False: the round's own campaign only (how the chain ran until 2026-12-07)
    accumulate: bool = True
    draw: int = 0  # which prompts, candidates and annotator noise: another draw of the same chain
    # the campaign after a refused promotion also holds the refused generator's videos of the rated prompts, so the
    # next critic has seen what an aligned generator makes before it judges the next one
    rate_challenger: bool = False
    # the loop's generator_gate. "people": an aligned generator waits, the next round's campaign holds its videos of
    # the rated prompts and seeds beside the active generator's, and the next loop promotes or retires it by them;
    # "critic_first": only one the critic refuses waits so
    generator_gate: str = "critic"
    # under a gate that lets people decide: a waiting generator's videos go beside the active one's into a pairwise
    # campaign of their own (one pair per rated prompt and seed), so people compare the two rather than rate each
    review_pairwise: bool = False


def _draw(ids: list[int], count: int, seed: int) -> list[int]:
    import numpy as np

    return sorted(int(i) for i in np.random.default_rng(seed).choice(ids, size=min(count, len(ids)), replace=False))


def _generate(version, prompts, seeds, campaign=None, compare=None) -> list[int]:
    from alignment.models import Job
    from alignment.services.jobs import job_create, job_run

    job, _ = job_create(kind="generate", dispatch=False, params={
        "generator_version": version.pk, "prompt_ids": [p.pk for p in prompts], "seeds": list(seeds),
        "campaign": campaign.pk if campaign else None, **({"compare_version": compare.pk} if compare else {})})
    job = job_run(job_id=job.pk)
    if job.status != Job.Status.SUCCEEDED:
        raise RuntimeError(f"generate job {job.pk} {job.status}: {job.error}")
    return job.result["video_ids"]


def _rate(campaign, size: ChainSize, base_url: str, seed: int) -> int:
    from django.core.management import call_command

    from annotation.models import Annotation

    call_command("simulate_annotators", campaign=campaign.pk, annotators=size.annotators or size.overlap, base_url=base_url,
                 noise=size.noise, seed=seed, stdout=open(os.devnull, "w"))
    return Annotation.objects.filter(campaign=campaign).count()


def _judged(video_ids: list[int]) -> dict:
    """The pixel judge's mean reward (mean of the three dimension rewards) and ratings of stored videos."""
    from alignment.services.judging import video_judged
    from annotation.models import Video

    from alignment.engine.critic.questions import RATING_REWARDS as value

    verdicts = [video_judged(v) for v in Video.objects.filter(pk__in=video_ids).select_related("prompt")]
    return {"mean_reward": sum(sum(value[v[d]["rating"]] for d in DIMENSIONS) / 3 for v in verdicts) / len(verdicts),
            "good_share": {d: sum(v[d]["rating"] == "Good" for v in verdicts) / len(verdicts) for d in DIMENSIONS}}


def _per_dimension(metrics: dict) -> dict:
    """Per dimension, the critic's and the judge's held-out mean reward before → after."""
    sides = [metrics.get("heldout_before") or {}, metrics.get("heldout_after") or {}]
    return {dim: {"critic": [(side.get("dimensions") or {}).get(dim, {}).get("mean_reward") for side in sides],
                  "judged": [((side.get("judged") or {}).get("dimensions") or {}).get(dim, {}).get("mean_reward")
                             for side in sides]}
            for dim in DIMENSIONS}


def _seconds(stage: dict) -> float | None:
    from datetime import datetime

    if not (stage.get("started_at") and stage.get("finished_at")):
        return None
    return round((datetime.fromisoformat(stage["finished_at"]) - datetime.fromisoformat(stage["started_at"])).total_seconds(), 1)


def _library(world, size: ChainSize, base_url: str, draw: int, avoid: set[str]) -> tuple[list[int], dict | None]:
    """The world library's campaign, rendered and rated once (`size.library_prompts` × `size.library_seeds`, one
    rating each): ([its id], what it took), or ([], None) without one."""
    from alignment.services.judging import world_prompts_create
    from annotation.services.campaigns import campaign_create

    if not size.library_prompts:
        return [], None
    started = time.perf_counter()
    campaign = campaign_create(name="world library", overlap=1)
    bank = world_prompts_create(size.library_prompts, seed=4 + draw, avoid=avoid)
    videos = _generate(world, bank, size.library_seeds, campaign)
    ratings = _rate(campaign, size, base_url, seed=draw + 1000)
    return [campaign.pk], {"videos": len(videos), "ratings": ratings, "seconds": round(time.perf_counter() - started, 1)}


def run_chain(*, base_url: str, pretrained: dict[str, Path], size: ChainSize) -> dict:
    """Round after round: rate the active generator's videos, run one retrain_loop on them. Returns per round
    the ratings, the loop's stages and promotions, and the judge's view of the held-out videos."""
    from alignment.loop.run import loop_run_foreground
    from alignment.models import Job, ModelVersion
    from alignment.selectors import active_version
    from alignment.services.jobs import job_create
    from alignment.services.judging import world_prompts_create
    from alignment.services.registry import version_promote, version_register
    from annotation.models import Video
    from annotation.services.campaigns import campaign_create

    generator = version_register(kind="generator", name="tiny world generator", base=str(pretrained["tiny-cogvideox"]),
                                 config={**WORLD, "steps": size.sample_steps, "guidance": size.guidance})
    version_promote(version=generator)
    draw = 10 * size.draw  # every seed of the chain moves with its draw
    rated_bank = world_prompts_create(size.rated_prompts, seed=1 + draw)
    world = version_register(kind="generator", name="synthetic world", base="synthetic://world",
                             config={**WORLD, "steps": 1})
    # Candidates and held-out prompts by id, from world prompts only: a draw from the whole bank would take the
    # demo's own prompts too, which the judge cannot rate (they are not of the world).
    pool_prompts = world_prompts_create(size.candidate_count + size.heldout_count + 40, seed=2 + draw,
                                        avoid={p.text for p in rated_bank})
    pool = [p.pk for p in pool_prompts]
    heldout = {"prompt_ids": pool[:size.heldout_count], "seeds": list(size.heldout_seeds)}
    candidate_pool = pool[size.heldout_count:]
    taken = {p.text for p in [*rated_bank, *pool_prompts]}
    world_bank = world_prompts_create(size.world_prompts, seed=3 + draw, avoid=taken) if size.world_prompts else []
    library, library_report = _library(world, size, base_url, draw, avoid=taken | {p.text for p in world_bank})
    rounds, campaigns, challenger = [], list(library), None
    for index in range(size.rounds):
        started = time.perf_counter()
        active = active_version(kind=ModelVersion.Kind.GENERATOR)
        campaign = campaign_create(name=f"round {index}: {active.name}", overlap=size.overlap)
        rated_seeds = [s + 10 * index for s in size.rated_seeds]
        rated_ids = _generate(active, rated_bank, rated_seeds, campaign)
        if size.generator_gate != "critic":
            challenger = ModelVersion.objects.filter(kind=ModelVersion.Kind.GENERATOR, awaiting_review=True).first()
        pairs = campaign_create(name=f"round {index}: {challenger.name} beside {active.name}", kind="pairwise",
                                overlap=size.overlap) if challenger and size.review_pairwise else None
        challenger_ids = []
        if challenger:
            made = _generate(challenger, rated_bank, rated_seeds, pairs or campaign, compare=active if pairs else None)
            challenger_ids = list(Video.objects.filter(pk__in=made, generator=f"generator:{challenger.pk}")
                                  .values_list("pk", flat=True))
        round_campaigns = [campaign.pk, *([pairs.pk] if pairs else [])]
        campaigns = [*campaigns, *round_campaigns] if size.accumulate else [*library, *round_campaigns]
        if size.world_prompts:
            _generate(world, world_bank, [s + 10 * index for s in size.world_seeds], campaign)
        generate_s, started = time.perf_counter() - started, time.perf_counter()
        ratings = _rate(campaign, size, base_url, seed=draw + index)
        comparisons = _rate(pairs, size, base_url, seed=draw + index) if pairs else 0
        rating_s = time.perf_counter() - started
        params = {"source_campaign_ids": campaigns, "stages": [
                      "snapshot", "train_critic", "evaluate_critic", "promote_critic", "generate_candidates", "score",
                      "align", "evaluate_generator", "promote_generator"],
                  "candidates": {"prompt_ids": _draw(candidate_pool, size.candidate_count, seed=100 + draw + index),
                                 "seeds": list(size.candidate_seeds)},
                  "critic": {"name": f"critic round {index}", **size.critic},
                  "align": {"settings": {**size.align, "guidance": size.guidance, "sample_steps": size.sample_steps},
                            "heldout": heldout},
                  "generator_gate": size.generator_gate}
        loop, _ = job_create(kind="retrain_loop", params=params, dispatch=False)
        started = time.perf_counter()
        loop = loop_run_foreground(loop_id=loop.pk)
        loop_s = time.perf_counter() - started
        if loop.status != Job.Status.SUCCEEDED:
            raise RuntimeError(f"loop {loop.pk} {loop.status}: {loop.error}")
        generator_version = ModelVersion.objects.get(pk=loop.result["generator_version"]) \
            if loop.result.get("generator_version") else None
        critic_version = ModelVersion.objects.get(pk=loop.result["critic_version"])
        metrics = generator_version.metrics if generator_version else {}
        challenger = generator_version if size.rate_challenger and not loop.result.get("generator_promoted") else None
        rounds.append({
            "round": index, "generator": active.name, "rated_videos": len(rated_ids), "ratings": ratings,
            "comparisons": comparisons,
            "campaigns": len(campaigns), "challenger_videos": len(challenger_ids),
            "judged_rated_videos": _judged(rated_ids),
            "judged_challenger_videos": _judged(challenger_ids) if challenger_ids else None,
            "people_review": loop.result.get("generator_review"), "generate_s": round(generate_s, 1), "rating_s": round(rating_s, 1), "loop_s": round(loop_s, 1),
            "critic_version": critic_version.pk, "critic_promoted": loop.result.get("critic_promoted"), "generator_promoted": loop.result.get("generator_promoted"),
            "critic_accuracy_vs_annotators": critic_version.metrics.get("accuracy"),
            "heldout_critic_reward": [metrics.get("heldout_reward_before"), metrics.get("heldout_reward_after")],
            "heldout_judged": [metrics.get("heldout_judged_before"), metrics.get("heldout_judged_after")],
            "reward_hacking": metrics.get("reward_hacking"),
            "heldout_per_dimension": _per_dimension(metrics),
            "stages": [{"name": s["name"], "outcome": s["outcome"], "seconds": _seconds(s)}
                       for s in loop.metrics.get("stages", [])],
        })
    return {"size": asdict(size), "library": library_report, "rounds": rounds}
