from ..jobkinds import GPU, JobKind, register
from ..services.active_learning import score_params_validate, score_run

register(JobKind(
    name="score", queue=GPU, validate=score_params_validate, run=score_run,
    description="Score videos (a list or a campaign's) with a critic version (default: the active one).",
))
