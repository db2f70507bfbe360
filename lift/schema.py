from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema


class AutoSchema(SpectacularAutoSchema):
    """Names nested InputSerializer/OutputSerializer classes after their view (SubmitApiInput, ...)."""

    def get_serializer_name(self, serializer, direction):
        qualname = type(serializer).__qualname__
        if "." in qualname:
            return qualname.replace(".", "").replace("Serializer", "")
        return super().get_serializer_name(serializer, direction)


def output_fields_required(result, generator, request, public):
    """drf-spectacular postprocessing hook: an answer always carries every field of its serializer (DRF
    writes each one, null when empty), so response schemas list them all as required and generated
    clients need no `?` on what is always sent. Request schemas (…Request) keep their own rules."""
    for name, component in result.get("components", {}).get("schemas", {}).items():
        if name.endswith("Request") or "x-job-kind" in component or "properties" not in component:
            continue
        component["required"] = sorted(component["properties"])
    return result
