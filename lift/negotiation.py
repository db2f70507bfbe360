"""Content negotiation that skips parsing the Accept header when the answer cannot depend on it.

The API renders JSON only. DRF's negotiation parses and ranks the client's Accept header on every request,
about a twentieth of the annotation hot path's Python (bench/RESULTS.md); when the header is absent, */*
or application/json, the one renderer is the answer. Anything else goes through DRF's own negotiation
(and is refused with 406 as before, when it accepts nothing we render).
"""
from rest_framework.negotiation import DefaultContentNegotiation

_PLAIN_ACCEPT = {"", "*/*", "application/json"}


class JsonFirstNegotiation(DefaultContentNegotiation):
    def select_renderer(self, request, renderers, format_suffix=None):
        if (len(renderers) == 1 and not format_suffix and not request.query_params.get(self.settings.URL_FORMAT_OVERRIDE)
                and request.META.get("HTTP_ACCEPT", "").strip() in _PLAIN_ACCEPT):
            return renderers[0], renderers[0].media_type
        return super().select_renderer(request, renderers, format_suffix)
