"""Thin API views for model versions (admin only): list, promote (or roll back), and download a critic
version as a transformers / peft directory."""
from django.http import FileResponse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation.permissions import IsAdmin

from . import selectors
from .models import ModelVersion
from .services.critic_export import LAYOUTS, critic_export_archive
from .services.registry import version_promote


class ModelVersionOutput(serializers.ModelSerializer):
    class Meta:
        model = ModelVersion
        fields = ["id", "kind", "name", "base", "adapter_path", "config", "parent", "lineage", "metrics",
                  "is_active", "awaiting_review", "created_by_job", "created_at"]


class ModelListApi(APIView):
    permission_classes = [IsAdmin]

    class FilterSerializer(serializers.Serializer):
        kind = serializers.ChoiceField(choices=ModelVersion.Kind.choices, required=False)

    @extend_schema(parameters=[FilterSerializer], responses={200: ModelVersionOutput(many=True)})
    def get(self, request):
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        return Response(ModelVersionOutput(selectors.versions_list(**filters.validated_data), many=True).data)


class ModelPromoteApi(APIView):
    permission_classes = [IsAdmin]

    class InputSerializer(serializers.Serializer):
        force = serializers.BooleanField(default=False)
        reason = serializers.CharField(default="", allow_blank=True, max_length=2000)

    @extend_schema(request=InputSerializer, responses={200: ModelVersionOutput})
    def post(self, request, version_id: int):
        version = selectors.version_get(version_id=version_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        version = version_promote(version=version, by=request.user, **data.validated_data)
        return Response(ModelVersionOutput(version).data)


class CriticExportApi(APIView):
    permission_classes = [IsAdmin]

    class FilterSerializer(serializers.Serializer):
        layout = serializers.ChoiceField(choices=LAYOUTS, default="merged")

    @extend_schema(parameters=[OpenApiParameter("layout", enum=LAYOUTS, default="merged")],
                   responses={(200, "application/zip"): bytes})
    def get(self, request, version_id: int):
        version = selectors.version_get(version_id=version_id, kind=ModelVersion.Kind.CRITIC)
        params = self.FilterSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        archive = critic_export_archive(version=version, layout=params.validated_data["layout"])
        return FileResponse(open(archive, "rb"), as_attachment=True, content_type="application/zip",
                            filename=f"critic-{version.pk}-{params.validated_data['layout']}.zip")
