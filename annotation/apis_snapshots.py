"""Thin API views for LiFT-HRA snapshots (admin only): list, request, read, download. A request starts the
model side's `snapshot` job through the starter it registers (annotation/snapshots/services.py)."""
from urllib.parse import urlencode

from django.http import FileResponse
from django.urls import reverse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from .models import Snapshot
from .permissions import IsAdmin
from .snapshots import services as snapshot_services
from .snapshots.export import QUESTION_STYLES
from .snapshots.links import snapshot_download_link, snapshot_from_download_link


class SnapshotOutput(serializers.ModelSerializer):
    class Meta:
        model = Snapshot
        fields = ["id", "number", "filters", "status", "counts", "manifest", "cut_max_id", "job_id", "error",
                  "created_at", "finished_at"]


class SnapshotListApi(APIView):
    permission_classes = [IsAdmin]

    class InputSerializer(serializers.Serializer):
        campaign_ids = serializers.ListField(child=serializers.IntegerField(min_value=1), required=False, default=list)
        # Checked against Annotation.ReviewState by the service (a plain list keeps one enum in the schema).
        review_states = serializers.ListField(child=serializers.CharField(max_length=16), required=False)
        since = serializers.DateTimeField(required=False)
        until = serializers.DateTimeField(required=False)
        seed = serializers.IntegerField(min_value=0, default=0)
        include_videos = serializers.BooleanField(default=False)
        question_style = serializers.ChoiceField(choices=QUESTION_STYLES, default="schema",
                                                 help_text="lift_hra.json in the schema's questions or the public critic's")
        videoalign_csv = serializers.BooleanField(default=False, help_text=(
            "pairwise campaigns: also write VideoAlign's training CSVs (videoalign/{train,validation,test}.csv)"))

    @extend_schema(responses={200: SnapshotOutput(many=True)})
    def get(self, request):
        return Response(SnapshotOutput(Snapshot.objects.order_by("-number")[:200], many=True).data)

    @extend_schema(request=InputSerializer, responses={201: SnapshotOutput, 200: SnapshotOutput})
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        params = dict(data.validated_data)
        filters = {key: params.pop(key) for key in ("campaign_ids", "review_states", "since", "until") if key in params}
        for key in ("since", "until"):
            if key in filters:
                filters[key] = filters[key].isoformat()
        snapshot, created = snapshot_services.snapshot_request(params={"filters": filters, **params}, user=request.user)
        return Response(SnapshotOutput(snapshot).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class SnapshotDetailApi(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(responses={200: SnapshotOutput})
    def get(self, request, snapshot_id: int):
        return Response(SnapshotOutput(snapshot_services.snapshot_get(snapshot_id=snapshot_id)).data)


def _archive_response(snapshot: Snapshot) -> FileResponse:
    archive = snapshot_services.snapshot_archive(snapshot=snapshot)
    return FileResponse(open(archive, "rb"), as_attachment=True, filename=f"lift-hra-snapshot-{snapshot.number}.zip",
                        content_type="application/zip")


class SnapshotDownloadApi(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(responses={(200, "application/zip"): bytes})
    def get(self, request, snapshot_id: int):
        return _archive_response(snapshot_services.snapshot_get(snapshot_id=snapshot_id))


class SnapshotDownloadLinkApi(APIView):
    """An expiring link to the archive, for a browser download or a machine without the admin's token."""

    permission_classes = [IsAdmin]

    class OutputSerializer(serializers.Serializer):
        url = serializers.CharField()
        expires_at = serializers.DateTimeField()

    @extend_schema(responses={200: OutputSerializer})
    def get(self, request, snapshot_id: int):
        snapshot = snapshot_services.snapshot_get(snapshot_id=snapshot_id)
        token, expires_at = snapshot_download_link(snapshot=snapshot, user=request.user)
        path = reverse("snapshot-signed-download", args=[snapshot.pk])
        url = request.build_absolute_uri(f"{path}?{urlencode({'token': token})}")
        return Response({"url": url, "expires_at": expires_at})


class SnapshotSignedDownloadApi(APIView):
    """The link itself is the credential: no token or session, a 403 once it expires or is altered."""

    permission_classes = [AllowAny]
    authentication_classes = []

    @extend_schema(parameters=[OpenApiParameter("token", str, required=True)],
                   responses={(200, "application/zip"): bytes})
    def get(self, request, snapshot_id: int):
        token = request.query_params.get("token", "")
        return _archive_response(snapshot_from_download_link(snapshot_id=snapshot_id, token=token))
