"""Thin API views for jobs and model versions (admin only)."""
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation.permissions import IsAdmin
from lift.api_errors import NotFound

from .models import Job, ModelVersion
from .services import jobs as job_services
from .services import registry


class JobOutput(serializers.ModelSerializer):
    class Meta:
        model = Job
        fields = ["id", "kind", "status", "params", "queue", "progress", "phase", "log_tail", "metrics", "result",
                  "artifacts", "error", "cancel_requested", "attempts", "worker", "heartbeat_at", "parent", "created_at",
                  "started_at", "finished_at"]


def _get_job(job_id: int) -> Job:
    job = Job.objects.filter(pk=job_id).first()
    if job is None:
        raise NotFound("Job not found.")
    return job


class JobListApi(APIView):
    permission_classes = [IsAdmin]

    class InputSerializer(serializers.Serializer):
        kind = serializers.ChoiceField(choices=Job.Kind.choices)
        params = serializers.DictField(default=dict)

    class FilterSerializer(serializers.Serializer):
        kind = serializers.ChoiceField(choices=Job.Kind.choices, required=False)
        status = serializers.ChoiceField(choices=Job.Status.choices, required=False)
        limit = serializers.IntegerField(min_value=1, max_value=500, default=100)

    @extend_schema(parameters=[FilterSerializer], responses={200: JobOutput(many=True)})
    def get(self, request):
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        limit = filters.validated_data.pop("limit")
        jobs = Job.objects.filter(**filters.validated_data).order_by("-created_at")[:limit]
        return Response(JobOutput(jobs, many=True).data)

    @extend_schema(request=InputSerializer, responses={201: JobOutput, 200: JobOutput})
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        job, created = job_services.job_create(created_by=request.user, **data.validated_data)
        return Response(JobOutput(job).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class JobDetailApi(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(responses={200: JobOutput})
    def get(self, request, job_id: int):
        return Response(JobOutput(_get_job(job_id)).data)


class JobCancelApi(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(request=None, responses={200: JobOutput})
    def post(self, request, job_id: int):
        job = job_services.job_cancel(job=_get_job(job_id))
        job.refresh_from_db()
        return Response(JobOutput(job).data)


class ModelVersionOutput(serializers.ModelSerializer):
    class Meta:
        model = ModelVersion
        fields = ["id", "kind", "name", "base", "adapter_path", "config", "parent", "lineage", "metrics",
                  "is_active", "created_by_job", "created_at"]


class ModelListApi(APIView):
    permission_classes = [IsAdmin]

    class FilterSerializer(serializers.Serializer):
        kind = serializers.ChoiceField(choices=ModelVersion.Kind.choices, required=False)

    @extend_schema(parameters=[FilterSerializer], responses={200: ModelVersionOutput(many=True)})
    def get(self, request):
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        versions = ModelVersion.objects.filter(**filters.validated_data).order_by("kind", "-created_at")
        return Response(ModelVersionOutput(versions, many=True).data)


class ModelPromoteApi(APIView):
    permission_classes = [IsAdmin]

    class InputSerializer(serializers.Serializer):
        force = serializers.BooleanField(default=False)
        reason = serializers.CharField(default="", allow_blank=True, max_length=2000)

    @extend_schema(request=InputSerializer, responses={200: ModelVersionOutput})
    def post(self, request, version_id: int):
        version = ModelVersion.objects.filter(pk=version_id).first()
        if version is None:
            raise NotFound("Model version not found.")
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        version = registry.version_promote(version=version, by=request.user, **data.validated_data)
        return Response(ModelVersionOutput(version).data)
