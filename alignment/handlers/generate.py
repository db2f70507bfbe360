from ..jobkinds import GPU, JobKind, register
from ..services.generation import generate_params_validate, generate_run

register(JobKind(
    name="generate", queue=GPU, validate=generate_params_validate, run=generate_run,
    description="Generate videos for prompts × seeds with a generator version (optionally into a campaign).",
))
