"""Thin API views for LiFT-HRA snapshots (admin only): list, request, read, download."""
from django.http import FileResponse
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation.models import Snapshot
from annotation.permissions import IsAdmin
from annotation.snapshots import services as snapshot_services

from .services.snapshots import snapshot_request


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
        snapshot, created = snapshot_request(params={"filters": filters, **params}, user=request.user)
        return Response(SnapshotOutput(snapshot).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class SnapshotDetailApi(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(responses={200: SnapshotOutput})
    def get(self, request, snapshot_id: int):
        return Response(SnapshotOutput(snapshot_services.snapshot_get(snapshot_id=snapshot_id)).data)


class SnapshotDownloadApi(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(responses={(200, "application/zip"): bytes})
    def get(self, request, snapshot_id: int):
        snapshot = snapshot_services.snapshot_get(snapshot_id=snapshot_id)
        archive = snapshot_services.snapshot_archive(snapshot=snapshot)
        return FileResponse(open(archive, "rb"), as_attachment=True, filename=f"lift-hra-snapshot-{snapshot.number}.zip",
                            content_type="application/zip")
