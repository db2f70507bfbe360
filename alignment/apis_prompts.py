"""Captions for prompt-bank prompts (admin): POST /api/prompts/expand/.

It lives here, not beside the rest of /api/prompts/ in annotation, by the rule for views: a view lives on
the side that owns what it answers with, and this one answers with a job (the model side's). The
expander itself runs on the model side too; annotation never imports alignment."""
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation.permissions import IsAdmin

from .apis_jobs import JobOutput
from .services.expansion import expansion_launch


class PromptExpandApi(APIView):
    """Template expansion is done when this answers (200); a language model's is a queued job (202)."""

    permission_classes = [IsAdmin]

    class InputSerializer(serializers.Serializer):
        prompt_ids = serializers.ListField(child=serializers.IntegerField(min_value=1), min_length=1)
        overwrite = serializers.BooleanField(default=False)
        expander = serializers.JSONField(required=False, help_text='"template" (default), a causal LM hub id or '
                                         'path, or {"id_or_path", "max_new_tokens", "system_prompt", "do_sample", '
                                         '"temperature"}')

    @extend_schema(request=InputSerializer, responses={200: JobOutput, 202: JobOutput})
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        job = expansion_launch(params=data.validated_data, created_by=request.user)
        finished = job.status in job.FINISHED
        return Response(JobOutput(job).data, status=status.HTTP_200_OK if finished else status.HTTP_202_ACCEPTED)
