"""Upload of outside videos (admin): checked by content with ffprobe, never by name."""
import tempfile
from pathlib import Path

from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation.permissions import IsAdmin
from lift.api_errors import ApplicationError

from .services.ingest import video_ingest


MULTIPART_SLACK_BYTES = 1024 * 1024  # form fields and boundaries around the file


def _refuse_declared_oversize(request) -> None:
    limit = settings.LIFT["MAX_UPLOAD_BYTES"]
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > limit + MULTIPART_SLACK_BYTES:
        raise ApplicationError(f"too large: the upload is {declared} bytes, the limit is {limit}",
                               code="video_too_large", status_code=413, fields={"file": "too large"})


class VideoUploadApi(APIView):
    permission_classes = [IsAdmin]
    parser_classes = [MultiPartParser]

    class InputSerializer(serializers.Serializer):
        file = serializers.FileField()
        prompt = serializers.CharField(required=False, allow_blank=True, max_length=1000)

    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        sha256 = serializers.CharField()
        frames = serializers.IntegerField()
        width = serializers.IntegerField()
        height = serializers.IntegerField()
        duration = serializers.FloatField()

    @extend_schema(request=InputSerializer, responses={201: OutputSerializer})
    def post(self, request):
        _refuse_declared_oversize(request)  # before parsing: an oversized body is never written to disk
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        upload = data.validated_data["file"]
        with tempfile.NamedTemporaryFile(suffix=".upload") as tmp:
            for chunk in upload.chunks():
                tmp.write(chunk)
            tmp.flush()
            video = video_ingest(path=Path(tmp.name), prompt_text=data.validated_data.get("prompt", ""),
                                 original_name=upload.name)
        return Response(self.OutputSerializer(video).data, status=status.HTTP_201_CREATED)
