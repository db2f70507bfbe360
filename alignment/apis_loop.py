"""Thin API views for the retrain loop (admin only): the policy, starting a loop now, the trigger log.
(Retrying a loop is retrying its job: POST /api/jobs/{id}/retry/.)"""
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation.permissions import IsAdmin
from lift.api_errors import error_body

from . import selectors
from .loop.params import GENERATOR_GATES
from .loop.policy import annotations_new_count, loop_start, policy_get, policy_loop_params, policy_update
from .models import RetrainPolicy, RetrainTrigger

MAX_ID = 2**63 - 1  # a primary key is a bigint


class RetrainPolicyOutput(serializers.ModelSerializer):
    new_annotations = serializers.SerializerMethodField(help_text="Ratings counted towards the threshold now.")

    class Meta:
        model = RetrainPolicy
        fields = ["enabled", "min_new_annotations", "check_every_minutes", "stages", "source_campaign_ids", "review_states",
                  "next_round_campaign", "candidates", "next_round", "critic", "align", "generator_gate", "updated_by", "updated_at",
                  "new_annotations"]

    def get_new_annotations(self, policy) -> int:
        return annotations_new_count(policy=policy)


class RetrainTriggerOutput(serializers.ModelSerializer):
    class Meta:
        model = RetrainTrigger
        fields = ["id", "source", "outcome", "new_annotations", "loop", "reason", "by", "at"]


class RetrainPolicyApi(APIView):
    permission_classes = [IsAdmin]

    class InputSerializer(serializers.Serializer):
        """Any subset of the settings; the others keep their values."""

        enabled = serializers.BooleanField(required=False)
        min_new_annotations = serializers.IntegerField(required=False, min_value=1, max_value=10_000_000)
        check_every_minutes = serializers.IntegerField(required=False, min_value=1, max_value=7 * 24 * 60)
        stages = serializers.ListField(child=serializers.CharField(), required=False,
                                       help_text="Stages a loop runs, in their fixed order (empty: all).")
        source_campaign_ids = serializers.ListField(child=serializers.IntegerField(min_value=1, max_value=MAX_ID),
                                                    required=False)
        review_states = serializers.ListField(child=serializers.CharField(), required=False)
        next_round_campaign = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=MAX_ID)
        candidates = serializers.DictField(required=False, help_text='{"count", "seed", "seeds"} or {"prompt_ids", "seeds"}')
        next_round = serializers.DictField(required=False, help_text='{"count", "seed", "seeds"} or {"prompt_ids", "seeds"}')
        critic = serializers.DictField(required=False, help_text="train_critic params (not snapshot)")
        align = serializers.DictField(required=False, help_text="align params (objective, settings, heldout, real, ...)")
        generator_gate = serializers.ChoiceField(
            choices=list(GENERATOR_GATES), required=False,
            help_text="Who promotes an aligned generator: critic, by its held-out reward, at once; people, by their "
                      "ratings of its videos beside the active generator's in the next round's campaign; or "
                      "critic_first, the critic at once and people for what it refuses.")

    @extend_schema(responses={200: RetrainPolicyOutput})
    def get(self, request):
        return Response(RetrainPolicyOutput(policy_get()).data)

    @extend_schema(request=InputSerializer, responses={200: RetrainPolicyOutput})
    def put(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        policy = policy_update(changes=data.validated_data, by=request.user)
        return Response(RetrainPolicyOutput(policy).data)


class RetrainLoopStartApi(APIView):
    """Start a loop now with the policy's settings (the threshold is not checked); 409 while one runs."""

    permission_classes = [IsAdmin]

    @extend_schema(request=None, responses={201: RetrainTriggerOutput, 409: OpenApiResponse(
        description='A loop is unfinished: {"detail", "code": "loop_running", "fields": {"loop": id}, "trigger": {...}} '
                    "(the skipped trigger is recorded).")})
    def post(self, request):
        policy = policy_get()
        trigger = loop_start(params=policy_loop_params(policy), source=RetrainTrigger.Source.MANUAL,
                             by=request.user, new_annotations=annotations_new_count(policy=policy))
        if trigger.outcome == RetrainTrigger.Outcome.SKIPPED:
            # Answered, not raised: the skipped trigger stays recorded.
            return Response({**error_body(trigger.reason, "loop_running", {"loop": trigger.loop_id}),
                             "trigger": RetrainTriggerOutput(trigger).data}, status=status.HTTP_409_CONFLICT)
        return Response(RetrainTriggerOutput(trigger).data, status=status.HTTP_201_CREATED)


class RetrainTriggerListApi(APIView):
    permission_classes = [IsAdmin]

    class FilterSerializer(serializers.Serializer):
        limit = serializers.IntegerField(min_value=1, max_value=500, default=50)

    @extend_schema(parameters=[FilterSerializer], responses={200: RetrainTriggerOutput(many=True)})
    def get(self, request):
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        triggers = selectors.retrain_triggers_list(limit=filters.validated_data["limit"])
        return Response(RetrainTriggerOutput(triggers, many=True).data)
