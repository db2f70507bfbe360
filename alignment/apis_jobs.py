"""Thin API views for jobs (admin only): list, start, read, cancel, retry. Every kind goes through
POST /api/jobs/ with the same checks as `run_job`."""
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation.permissions import IsAdmin

from . import selectors
from .models import Job
from .services.jobs import job_cancel, job_create, job_retry


class JobOutput(serializers.ModelSerializer):
    class Meta:
        model = Job
        fields = ["id", "kind", "status", "params", "queue", "progress", "phase", "log_tail", "metrics", "result",
                  "artifacts", "error", "cancel_requested", "attempts", "worker", "heartbeat_at", "parent", "created_at",
                  "started_at", "finished_at"]


class JobListApi(APIView):
    permission_classes = [IsAdmin]

    class InputSerializer(serializers.Serializer):
        kind = serializers.ChoiceField(choices=Job.Kind.choices)
        params = serializers.DictField(default=dict, help_text="The kind's parameters, checked as `run_job` checks "
                                       "them; what they mean: the <Kind>JobParams schemas (e.g. TrainCriticJobParams).")

    class FilterSerializer(serializers.Serializer):
        kind = serializers.ChoiceField(choices=Job.Kind.choices, required=False)
        status = serializers.ChoiceField(choices=Job.Status.choices, required=False)
        limit = serializers.IntegerField(min_value=1, max_value=500, default=100)

    @extend_schema(parameters=[FilterSerializer], responses={200: JobOutput(many=True)})
    def get(self, request):
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        return Response(JobOutput(selectors.jobs_list(**filters.validated_data), many=True).data)

    @extend_schema(request=InputSerializer, responses={201: JobOutput, 200: JobOutput})
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        job, created = job_create(created_by=request.user, **data.validated_data)
        return Response(JobOutput(job).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class JobDetailApi(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(responses={200: JobOutput})
    def get(self, request, job_id: int):
        return Response(JobOutput(selectors.job_get(job_id=job_id)).data)


class JobCancelApi(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(request=None, responses={200: JobOutput})
    def post(self, request, job_id: int):
        job = job_cancel(job=selectors.job_get(job_id=job_id))
        job.refresh_from_db()
        return Response(JobOutput(job).data)


class JobRetryApi(APIView):
    """Queue a failed or cancelled job again under its id (it resumes from its checkpoints); a loop
    continues from its failed stage."""

    permission_classes = [IsAdmin]

    @extend_schema(request=None, responses={200: JobOutput})
    def post(self, request, job_id: int):
        job = job_retry(job=selectors.job_get(job_id=job_id))
        job.refresh_from_db()
        return Response(JobOutput(job).data)
