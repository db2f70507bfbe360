"""The `expand_prompts` job kind (gpu queue: a causal LM wants the GPU the generator also uses)."""
from ..jobkinds import GPU, JobKind, register
from ..services.expansion import EXPAND_KIND, expand_params_validate, expand_run

register(JobKind(
    name=EXPAND_KIND, queue=GPU, validate=expand_params_validate, run=expand_run,
    description="Write captions for prompts with the configured expander (template, or a causal LM).",
))
