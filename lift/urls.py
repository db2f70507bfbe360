from django.conf import settings
from django.contrib import admin
from django.http import FileResponse, HttpResponse
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from annotation.media import protected_media
from lift.api_errors import json_404

handler400 = "lift.api_errors.json_400"
handler403 = "lift.api_errors.json_403"
handler404 = "lift.api_errors.json_404"
handler500 = "lift.api_errors.json_500"


def spa_index(request):
    """The browser app: every non-API path gets index.html and the app routes on the client."""
    index = settings.FRONTEND_DIST / "index.html"
    if not index.exists():
        return HttpResponse(
            "The frontend is not built yet: run `make frontend` (or `make demo`).", status=503, content_type="text/plain"
        )
    return FileResponse(open(index, "rb"), content_type="text/html")


urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("api/", include("annotation.urls")),
    path("api/", include("alignment.urls")),
    re_path(r"^media/(?P<path>.+)$", protected_media, name="media"),
    re_path(r"^api/.*$", json_404),
    re_path(r"^(?!static/).*$", spa_index, name="spa"),
]
