"""What each job kind's parameters mean, in the OpenAPI schema: a `<Kind>JobParams` component per kind
that describes them (POST /api/jobs/ takes them under `params`). The console's job forms show these
descriptions (frontend/scripts/api-types.mjs reads them from the schema)."""


def job_params_component(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_")) + "JobParams"


def job_params_schemas(result, generator, request, public):
    """drf-spectacular postprocessing hook (SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"])."""
    from .services.jobs import job_kinds

    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    for kind in job_kinds():
        if kind.params_help is None:
            continue
        properties: dict = {}
        for dotted, text in sorted(kind.params_help().items()):
            *parents, leaf = dotted.split(".")
            node = properties
            for parent in parents:
                node = node.setdefault(parent, {"type": "object", "properties": {}})["properties"]
            node[leaf] = {"description": text}
        schemas[job_params_component(kind.name)] = {"type": "object", "description": kind.description,
                                                    "properties": properties, "x-job-kind": kind.name}
    return result
