"""Every job kind, in one table: its queue, how its params are checked, what runs it.

Each kind's check (`<kind>_params_validate(*, params) -> params`, a 4xx before any job row exists), run
(`(job=, report=) -> result`) and, where written, what its parameters mean (`<kind>_params_help`, shown in
the API schema as `<Kind>JobParams`) live beside its service. The app's ready() imports this module, which
registers them with services.jobs. The ML engine is imported inside the run functions, so the web
process never imports torch.
"""
from annotation.snapshots.services import snapshot_params_validate

from .loop.params import loop_params_validate
from .loop.run import loop_retry, loop_run, loop_wake
from .services.align_params import align_params_help, align_params_validate
from .services.aligning import align_run
from .services.critic_training import train_critic_params_help, train_critic_params_validate, train_critic_run
from .services.expansion import EXPAND_KIND, expand_params_validate, expand_run
from .services.generation import generate_params_help, generate_params_validate, generate_run
from .services.preference_training import (train_preference_critic_params_help, train_preference_critic_params_validate,
                                           train_preference_critic_run)
from .services.jobs import CPU, GPU, JobKind, job_kind_register
from .services.scoring import score_params_validate, score_run
from .services.snapshots import snapshot_run

KINDS = [
    JobKind(name="generate", queue=GPU, validate=generate_params_validate, run=generate_run,
            params_help=generate_params_help,
            description="Generate videos for prompts × seeds with a generator version (optionally into a campaign)."),
    JobKind(name=EXPAND_KIND, queue=GPU,  # a causal LM wants the GPU the generator also uses
            validate=expand_params_validate, run=expand_run,
            description="Write captions for prompts with the configured expander (template, or a causal LM)."),
    JobKind(name="snapshot", queue=CPU, validate=snapshot_params_validate, run=snapshot_run,
            description="Numbered, immutable LiFT-HRA snapshot of annotations (parquet, jsonl, zip)."),
    JobKind(name="train_critic", queue=GPU, validate=train_critic_params_validate, run=train_critic_run,
            params_help=train_critic_params_help,
            description="Train a critic on a snapshot's splits (LoRA or full), evaluate it on the test split, "
                        "register it."),
    JobKind(name="train_preference_critic", queue=GPU, validate=train_preference_critic_params_validate,
            run=train_preference_critic_run, params_help=train_preference_critic_params_help,
            description="Train a Bradley–Terry critic (a score per dimension) on a snapshot's compared pairs, "
                        "measure its pairwise accuracy on the test pairs beside the active rating critic's, register it."),
    JobKind(name="score", queue=GPU, validate=score_params_validate, run=score_run,
            description="Score videos (a list or a campaign's) with a critic version (default: the active one)."),
    JobKind(name="align", queue=GPU, validate=align_params_validate, run=align_run, params_help=align_params_help,
            description="Fine-tune a generator from critic/human rewards (reward_weighted, rejection or edit_reward) "
                        "into a new generator version with held-out reward before and after."),
    JobKind(name="retrain_loop", queue=CPU, validate=loop_params_validate, run=loop_run,
            wake=lambda loop_id: loop_wake(loop_id=loop_id), retry=lambda loop: loop_retry(loop=loop),
            description="snapshot → train_critic → evaluate → promote → generate candidates → score → align → "
                        "evaluate → promote → generate the next round; each stage a child job."),
]

for kind in KINDS:
    job_kind_register(kind)
