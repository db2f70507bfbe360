from ..jobkinds import GPU, JobKind, register
from ..services.align_params import align_params_clean
from ..services.aligning import align_run

register(JobKind(
    name="align", queue=GPU, validate=align_params_clean, run=align_run,
    description="Fine-tune a generator from critic/human rewards (reward_weighted, rejection or edit_reward) "
                "into a new generator version with held-out reward before and after.",
))
