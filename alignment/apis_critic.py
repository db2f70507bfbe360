"""Thin API view for downloading a critic version as a transformers / peft directory (admin only)."""
from django.http import FileResponse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.views import APIView

from annotation.permissions import IsAdmin
from lift.api_errors import NotFound

from .models import ModelVersion
from .services.critic_export import LAYOUTS, critic_export_archive


class CriticExportApi(APIView):
    permission_classes = [IsAdmin]

    class FilterSerializer(serializers.Serializer):
        layout = serializers.ChoiceField(choices=LAYOUTS, default="merged")

    @extend_schema(parameters=[OpenApiParameter("layout", enum=LAYOUTS, default="merged")],
                   responses={(200, "application/zip"): bytes})
    def get(self, request, version_id: int):
        version = ModelVersion.objects.filter(pk=version_id, kind=ModelVersion.Kind.CRITIC).first()
        if version is None:
            raise NotFound("Critic version not found.")
        params = self.FilterSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        archive = critic_export_archive(version=version, layout=params.validated_data["layout"])
        return FileResponse(open(archive, "rb"), as_attachment=True, content_type="application/zip",
                            filename=f"critic-{version.pk}-{params.validated_data['layout']}.zip")
