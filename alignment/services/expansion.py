"""Captions for prompts: the short prompt expanded by the configured expander (lift-method.md §2).

The template expander is cheap and runs where it is asked for; a causal LM runs in a GPU worker
as an `expand_prompts` job, because the web process never imports torch.
"""
from django.conf import settings

from annotation.models import Prompt
from annotation.services.prompts import prompt_set_caption
from lift.api_errors import ApplicationError

from ..models import Job

EXPAND_KIND = "expand_prompts"
MAX_PROMPTS_PER_EXPANSION = 10_000


def expander_config_validate(config) -> str | dict:
    """The expander a request names (the configured default when it names none), checked without loading it."""
    from ..engine.expand import expander_from_config  # numpy only: torch loads when a model is used

    if config in (None, ""):
        config = settings.LIFT.get("PROMPT_EXPANDER", "template")
    try:
        expander_from_config(config)
    except (TypeError, ValueError) as exc:
        raise ApplicationError(f"expander: {exc}", fields={"expander": str(exc)}) from exc
    return config


def expand_params_validate(*, params: dict) -> dict:
    prompt_ids = params.get("prompt_ids")
    if (not isinstance(prompt_ids, list) or not prompt_ids or len(prompt_ids) > MAX_PROMPTS_PER_EXPANSION
            or not all(isinstance(p, int) and not isinstance(p, bool) for p in prompt_ids)):
        raise ApplicationError(f"prompt_ids must be a list of 1 to {MAX_PROMPTS_PER_EXPANSION} prompt ids.",
                               fields={"prompt_ids": "invalid"})
    found = set(Prompt.objects.filter(pk__in=prompt_ids).values_list("pk", flat=True))
    if missing := [p for p in prompt_ids if p not in found]:
        raise ApplicationError(f"Unknown prompt ids: {missing[:10]}", fields={"prompt_ids": missing[:10]})
    overwrite = params.get("overwrite", False)
    if not isinstance(overwrite, bool):
        raise ApplicationError("overwrite must be true or false.", fields={"overwrite": "invalid"})
    return {"prompt_ids": sorted(set(prompt_ids)), "overwrite": overwrite,
            "expander": expander_config_validate(params.get("expander"))}


def expansion_launch(*, params: dict, created_by=None) -> Job:
    """Template expansion finishes within the request; a language model's is queued for a GPU worker."""
    from .jobs import job_create, job_run

    params = expand_params_validate(params=params)
    in_place = params["expander"] == "template"
    job, created = job_create(kind=EXPAND_KIND, params=params, created_by=created_by, dispatch=not in_place)
    if in_place and created:
        job = job_run(job_id=job.pk)
    return job


def expand_run(*, job: Job, report) -> dict:
    from ..engine.expand import expander_from_config

    params = job.params
    expander = expander_from_config(params["expander"])
    prompts = list(Prompt.objects.filter(pk__in=params["prompt_ids"]).order_by("pk"))
    expanded = 0
    for index, prompt in enumerate(prompts):
        if params["overwrite"] or not prompt.caption:
            prompt_set_caption(prompt=prompt, caption=expander.expand(prompt.text))
            expanded += 1
        report(fraction=(index + 1) / len(prompts), phase=f"prompt {index + 1}/{len(prompts)}")
    return {"prompt_ids": [p.pk for p in prompts], "expanded": expanded, "kept": len(prompts) - expanded}
