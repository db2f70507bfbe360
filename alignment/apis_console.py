"""Thin read-only API views for the admin console: the overview aggregates and the video library."""
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation.models import Video
from annotation.permissions import IsAdmin

from . import selectors


class OverviewApi(APIView):
    permission_classes = [IsAdmin]

    class OutputSerializer(serializers.Serializer):
        throughput = serializers.ListField(child=serializers.DictField())
        campaigns = serializers.ListField(child=serializers.DictField())
        models = serializers.DictField()
        workers = serializers.ListField(child=serializers.DictField())
        jobs = serializers.DictField()

    @extend_schema(responses={200: OutputSerializer})
    def get(self, request):
        return Response(self.OutputSerializer(selectors.console_overview()).data)


class LibraryVideoOutput(serializers.Serializer):
    id = serializers.IntegerField()
    prompt = serializers.CharField(source="prompt.text", default="")
    source = serializers.CharField()
    generator = serializers.CharField()
    seed = serializers.IntegerField(allow_null=True)
    poster_url = serializers.SerializerMethodField()
    duration = serializers.FloatField()
    campaigns = serializers.IntegerField()
    created_at = serializers.DateTimeField()

    def get_poster_url(self, video) -> str | None:
        return video.poster.url if video.poster else None


class VideoLibraryApi(APIView):
    permission_classes = [IsAdmin]

    class FilterSerializer(serializers.Serializer):
        job = serializers.IntegerField(min_value=1, required=False, help_text="Only the videos this job made.")
        generator = serializers.CharField(max_length=200, required=False)
        source = serializers.ChoiceField(choices=Video.Source.choices, required=False)
        prompt = serializers.CharField(max_length=200, required=False, help_text="Prompt text contains this.")
        not_in_campaign = serializers.IntegerField(min_value=1, required=False)
        limit = serializers.IntegerField(min_value=1, max_value=1000, default=200)

    class OutputSerializer(serializers.Serializer):
        total = serializers.IntegerField()
        results = LibraryVideoOutput(many=True)

    @extend_schema(parameters=[FilterSerializer], responses={200: OutputSerializer})
    def get(self, request):
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        params = dict(filters.validated_data)
        if "job" in params:
            params["job"] = selectors.job_get(job_id=params["job"])
        videos, total = selectors.video_library(**params)
        return Response(self.OutputSerializer({"total": total, "results": videos}).data)
