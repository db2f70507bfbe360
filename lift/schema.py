from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema


class AutoSchema(SpectacularAutoSchema):
    """Names nested InputSerializer/OutputSerializer classes after their view (SubmitApiInput, ...)."""

    def get_serializer_name(self, serializer, direction):
        qualname = type(serializer).__qualname__
        if "." in qualname:
            return qualname.replace(".", "").replace("Serializer", "")
        return super().get_serializer_name(serializer, direction)
