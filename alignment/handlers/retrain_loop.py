from ..jobkinds import CPU, JobKind, register
from ..services.loop import loop_run
from ..services.retraining import loop_params_validate

register(JobKind(
    name="retrain_loop", queue=CPU, validate=loop_params_validate, run=loop_run,
    description="snapshot → train_critic → evaluate → promote → generate candidates → score → align → evaluate → "
                "promote → generate the next round; each stage a child job.",
))
