"""Thin API views for campaigns and their work: campaigns, members, items, next-task, and an assignment's
submit, skip and extend. Each validates input, calls one service or selector, and serialises the result."""
from drf_spectacular.utils import (OpenApiParameter, OpenApiResponse, PolymorphicProxySerializer, extend_schema,
                                   extend_schema_field)
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from lift.api_errors import ApplicationError
from lift.output import FieldsBuiltOnce, ModelOutputSerializer, OutputSerializer

from . import selectors
from .apis_auth import UserOutput
from .models import Annotation, Assignment, Campaign
from .permissions import IsAdmin
from .roles import is_admin
from .services import campaigns as campaign_services
from .services import leasing, submissions


class ProgressOutput(serializers.Serializer):
    done = serializers.IntegerField()
    skipped = serializers.IntegerField()
    remaining = serializers.IntegerField()


class CampaignOutput(serializers.ModelSerializer):
    progress = serializers.SerializerMethodField()

    class Meta:
        model = Campaign
        fields = ["id", "name", "kind", "guidelines", "schema", "rationale_policy", "lease_seconds", "overlap",
                  "is_active", "created_at", "progress"]

    @extend_schema_field(ProgressOutput)
    def get_progress(self, campaign) -> dict:
        return self.context["progress"][campaign.pk]


class CampaignAdminOutput(CampaignOutput):
    """What admins also see: how tasks are ordered and quality is judged (annotators are not told)."""

    class Meta(CampaignOutput.Meta):
        fields = CampaignOutput.Meta.fields + ["task_order", "gold_rate", "consensus_method", "quality_settings"]


class CampaignListApi(APIView):
    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=200)
        kind = serializers.ChoiceField(choices=Campaign.Kind.choices, required=False,
                                       help_text="rating (the default) or pairwise; fixed once created.")
        guidelines = serializers.CharField(required=False, allow_blank=True, max_length=100_000)
        schema = serializers.JSONField(required=False)
        overlap = serializers.IntegerField(required=False, min_value=1, max_value=50)
        rationale_policy = serializers.ChoiceField(choices=Campaign.RationalePolicy.choices, required=False)
        lease_seconds = serializers.IntegerField(required=False, min_value=30, max_value=24 * 3600)

    @extend_schema(responses={200: CampaignOutput(many=True)})
    def get(self, request):
        campaigns = list(selectors.campaigns_visible_to(user=request.user))
        progress = selectors.campaign_progress_for(campaigns=campaigns, user=request.user)
        return Response(CampaignOutput(campaigns, many=True, context={"progress": progress}).data)

    @extend_schema(request=InputSerializer, responses={201: CampaignOutput})
    def post(self, request):
        IsAdmin().has_permission(request, self) or self.permission_denied(request, IsAdmin.message)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        campaign = campaign_services.campaign_create(created_by=request.user, **data.validated_data)
        progress = selectors.campaign_progress_for(campaigns=[campaign], user=request.user)
        return Response(CampaignOutput(campaign, context={"progress": progress}).data, status=status.HTTP_201_CREATED)


class CampaignDetailApi(APIView):
    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=200, required=False)
        guidelines = serializers.CharField(required=False, allow_blank=True, max_length=100_000)
        overlap = serializers.IntegerField(required=False, min_value=1, max_value=50)
        rationale_policy = serializers.ChoiceField(choices=Campaign.RationalePolicy.choices, required=False)
        lease_seconds = serializers.IntegerField(required=False, min_value=30, max_value=24 * 3600)
        is_active = serializers.BooleanField(required=False)
        task_order = serializers.ChoiceField(choices=Campaign.TaskOrder.choices, required=False)
        gold_rate = serializers.FloatField(required=False)  # a share in [0, 1), checked by the service
        consensus_method = serializers.ChoiceField(choices=Campaign._meta.get_field("consensus_method").choices,
                                                   required=False)
        # Flag thresholds (names of annotation.quality.flags.DEFAULT_THRESHOLDS), checked by the service.
        quality_settings = serializers.DictField(required=False)

    def _respond(self, request, campaign):
        progress = selectors.campaign_progress_for(campaigns=[campaign], user=request.user)
        output = CampaignAdminOutput if is_admin(request.user) else CampaignOutput
        return Response(output(campaign, context={"progress": progress}).data)

    @extend_schema(responses={200: OpenApiResponse(CampaignOutput, description=(
        "Admins get CampaignAdminOutput: these fields and task_order, gold_rate, consensus_method, "
        "quality_settings."))})
    def get(self, request, campaign_id: int):
        return self._respond(request, selectors.campaign_get_for_user(campaign_id=campaign_id, user=request.user))

    @extend_schema(request=InputSerializer, responses={200: CampaignAdminOutput})
    def patch(self, request, campaign_id: int):
        campaign = selectors.campaign_get_for_user(campaign_id=campaign_id, user=request.user)
        IsAdmin().has_permission(request, self) or self.permission_denied(request, IsAdmin.message)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return self._respond(request, campaign_services.campaign_update(campaign=campaign, **data.validated_data))


class VideoOutput(OutputSerializer):
    id = serializers.IntegerField()
    url = serializers.SerializerMethodField()
    poster_url = serializers.SerializerMethodField()
    width = serializers.IntegerField()
    height = serializers.IntegerField()
    fps = serializers.FloatField()
    frames = serializers.IntegerField()
    duration = serializers.FloatField()

    def get_url(self, video) -> str:
        return video.file.url

    def get_poster_url(self, video) -> str | None:
        return video.poster.url if video.poster else None


class PromptTextOutput(serializers.Serializer):
    text = serializers.CharField()
    caption = serializers.CharField()


class PairOutput(OutputSerializer):
    left = VideoOutput()
    right = VideoOutput()


def _shown_videos(assignment) -> tuple:
    """(left, right) of a pair item in the order this lease shows them."""
    item = assignment.item
    return (item.video, item.video_b) if assignment.shown_order == Assignment.ShownOrder.AB else (item.video_b, item.video)


class AssignmentOutput(OutputSerializer):
    id = serializers.IntegerField()
    campaign = serializers.IntegerField(source="campaign_id")
    kind = serializers.ChoiceField(source="campaign.kind", choices=Campaign.Kind.choices)
    state = serializers.CharField()
    leased_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()
    lease_seconds = serializers.IntegerField(source="campaign.lease_seconds")
    video = serializers.SerializerMethodField(help_text="The video to rate; in a pairwise campaign the left one.")
    pair = serializers.SerializerMethodField(help_text=(
        "Pairwise campaigns: the two videos as this lease shows them (the order is drawn at random per lease); "
        "choices name the side: left, right or tie. Null in rating campaigns."))
    prompt = serializers.SerializerMethodField()
    prefetch_url = serializers.SerializerMethodField()
    prefetch_urls = serializers.SerializerMethodField(help_text=(
        "Every video of the item likely served next (both of a pair), to prefetch; empty when none."))

    @extend_schema_field(VideoOutput)
    def get_video(self, assignment) -> dict:
        video = _shown_videos(assignment)[0] if assignment.item.video_b_id else assignment.item.video
        return VideoOutput(video).data

    @extend_schema_field(PairOutput(allow_null=True))
    def get_pair(self, assignment) -> dict | None:
        if not assignment.item.video_b_id:
            return None
        left, right = _shown_videos(assignment)
        return PairOutput({"left": left, "right": right}).data

    @extend_schema_field(PromptTextOutput)
    def get_prompt(self, assignment) -> dict:
        prompt = assignment.item.video.prompt
        return {"text": prompt.text if prompt else "", "caption": prompt.caption if prompt else ""}

    def _next_hint(self, assignment):
        # A new lease brings the item its pick saw next; otherwise one look-up serves both prefetch fields.
        if not hasattr(assignment, "next_hint"):
            assignment.next_hint = selectors.next_item_hint(
                campaign=assignment.campaign, user=assignment.annotator, exclude_item_id=assignment.item_id)
        return assignment.next_hint

    def get_prefetch_url(self, assignment) -> str | None:
        item = self._next_hint(assignment)
        return item.video.file.url if item else None

    def get_prefetch_urls(self, assignment) -> list[str]:
        item = self._next_hint(assignment)
        return [video.file.url for video in (item.video, item.video_b) if video is not None] if item else []


class NextTaskApi(APIView):
    @extend_schema(request=None, responses={200: AssignmentOutput, 204: None})
    def post(self, request, campaign_id: int):
        campaign = selectors.campaign_get_for_user(campaign_id=campaign_id, user=request.user)
        if not campaign.is_active:
            raise ApplicationError("This campaign is paused.", code="campaign_inactive", status_code=409)
        assignment = leasing.campaign_next_task(campaign=campaign, annotator=request.user)
        if assignment is None:
            return Response(status=status.HTTP_204_NO_CONTENT)
        return Response(AssignmentOutput(assignment).data)


class AnnotationOutput(ModelOutputSerializer):
    class Meta:
        model = Annotation
        fields = ["id", "assignment", "campaign", "item", "ratings", "time_spent_ms", "review_state", "state",
                  "created_at"]


class AnnotationAdminOutput(AnnotationOutput):
    annotator = serializers.CharField(source="annotator.username")
    video = serializers.IntegerField(source="item.video_id")

    class Meta(AnnotationOutput.Meta):
        fields = AnnotationOutput.Meta.fields + ["annotator", "video"]


IDEMPOTENCY_HEADER = OpenApiParameter(
    "Idempotency-Key", str, OpenApiParameter.HEADER, required=True,
    description="A fresh key per submission (a UUID); a retry reuses it and creates nothing new.",
)


NEXT_HELP = ("also lease the next task and answer with both (SubmitWithNextOutput), one round trip instead of "
             "submit + next-task; a replay answers with the same annotation and next lease. As ?next=1 or as "
             "\"next\": true in the body (the browser's way: its submit URL stays the same).")
NEXT_PARAMETER = OpenApiParameter("next", bool, OpenApiParameter.QUERY, required=False, description=f"1: {NEXT_HELP}")
NEXT_VALUES = {"1": True, "true": True, "0": False, "false": False, "": False}


class SubmitWithNextOutput(OutputSerializer):
    annotation = AnnotationOutput()
    next = AssignmentOutput(allow_null=True, help_text="The next lease; null when next_state is not leased.")
    next_state = serializers.ChoiceField(
        choices=Annotation.NextState.choices,
        help_text="leased; nothing_left (as next-task's 204); campaign_paused (as next-task's 409).")


class SubmitApi(APIView):
    class InputSerializer(FieldsBuiltOnce, serializers.Serializer):  # on the hot path; its fields keep no state
        ratings = serializers.JSONField(required=False, help_text=(
            "Rating campaigns: {dimension: {rating, rationale}}."))
        choices = serializers.JSONField(required=False, help_text=(
            "Pairwise campaigns: {dimension: {choice: left|right|tie, rationale}}, the side as shown; stored as A "
            "or B of the pair."))
        time_spent_ms = serializers.IntegerField(min_value=0, max_value=submissions.MAX_TIME_SPENT_MS, default=0)
        next = serializers.BooleanField(default=False, help_text=f"true: {NEXT_HELP}")

    @extend_schema(
        request=InputSerializer, parameters=[IDEMPOTENCY_HEADER, NEXT_PARAMETER],
        responses={code: PolymorphicProxySerializer(
            component_name="SubmitResult", serializers=[AnnotationOutput, SubmitWithNextOutput],
            resource_type_field_name=None) for code in (200, 201)},
    )
    def post(self, request, assignment_id: int):
        key = request.headers.get("Idempotency-Key", "").strip()
        if not key or len(key) > 128 or not key.isprintable():
            raise ApplicationError("Send an Idempotency-Key header (1-128 printable characters, e.g. a UUID).",
                                   code="idempotency_key_required")
        with_next = NEXT_VALUES.get(request.query_params.get("next", "").strip().lower())
        if with_next is None:
            raise ApplicationError("next must be 1 or 0.", code="invalid_next", fields={"next": "not 1 or 0"})
        assignment = selectors.assignment_get_for_user(assignment_id=assignment_id, user=request.user)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        args = dict(assignment=assignment, annotator=request.user, idempotency_key=key, **data.validated_data)
        if args.pop("next") or with_next:
            result = submissions.annotation_submit_and_next(**args)
            body = SubmitWithNextOutput({"annotation": result.annotation, "next": result.next,
                                         "next_state": result.next_state}).data
            created = result.created
        else:
            annotation, created = submissions.annotation_submit(**args)
            body = AnnotationOutput(annotation).data
        return Response(body, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class SkipApi(APIView):
    class InputSerializer(serializers.Serializer):
        reason = serializers.CharField(max_length=2000)

    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        state = serializers.CharField()

    @extend_schema(request=InputSerializer, responses={200: OutputSerializer})
    def post(self, request, assignment_id: int):
        assignment = selectors.assignment_get_for_user(assignment_id=assignment_id, user=request.user)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        leasing.assignment_skip(assignment=assignment, reason=data.validated_data["reason"])
        return Response({"id": assignment.pk, "state": Assignment.State.SKIPPED})


class ExtendApi(APIView):
    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        expires_at = serializers.DateTimeField()

    @extend_schema(request=None, responses={200: OutputSerializer})
    def post(self, request, assignment_id: int):
        assignment = selectors.assignment_get_for_user(assignment_id=assignment_id, user=request.user)
        assignment = leasing.assignment_extend(assignment=assignment)
        return Response(self.OutputSerializer(assignment).data)


class ProgressApi(APIView):
    @extend_schema(responses={200: ProgressOutput})
    def get(self, request, campaign_id: int):
        campaign = selectors.campaign_get_for_user(campaign_id=campaign_id, user=request.user)
        return Response(selectors.campaign_progress_for(campaigns=[campaign], user=request.user)[campaign.pk])


class CampaignItemsApi(APIView):
    permission_classes = [IsAdmin]

    class InputSerializer(serializers.Serializer):
        video_ids = serializers.ListField(child=serializers.IntegerField(min_value=1), min_length=1, max_length=10_000,
                                         required=False, help_text="Rating campaigns: the videos to add.")
        pairs = serializers.ListField(
            child=serializers.ListField(child=serializers.IntegerField(min_value=1), min_length=2, max_length=2),
            min_length=1, max_length=10_000, required=False,
            help_text="Pairwise campaigns: [video A, video B] pairs, both made for the same prompt.")
        priority = serializers.IntegerField(default=0, min_value=-1000, max_value=1000)

        def validate(self, attrs):
            if bool(attrs.get("video_ids")) == bool(attrs.get("pairs")):
                raise serializers.ValidationError("Send video_ids (rating campaigns) or pairs (pairwise ones).")
            return attrs

    class OutputSerializer(serializers.Serializer):
        items = serializers.IntegerField()

    @extend_schema(request=InputSerializer, responses={201: OutputSerializer})
    def post(self, request, campaign_id: int):
        campaign = selectors.campaign_get_for_user(campaign_id=campaign_id, user=request.user)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        if data.validated_data.get("pairs"):
            items = campaign_services.campaign_add_pairs(campaign=campaign, pairs=data.validated_data["pairs"],
                                                          priority=data.validated_data["priority"])
        else:
            items = campaign_services.campaign_add_videos(campaign=campaign, video_ids=data.validated_data["video_ids"],
                                                           priority=data.validated_data["priority"])
        return Response({"items": len(items)}, status=status.HTTP_201_CREATED)


class CampaignMembersApi(APIView):
    permission_classes = [IsAdmin]

    class InputSerializer(serializers.Serializer):
        username = serializers.CharField(max_length=150)

    @extend_schema(responses={200: UserOutput(many=True)})
    def get(self, request, campaign_id: int):
        campaign = selectors.campaign_get_for_user(campaign_id=campaign_id, user=request.user)
        return Response(UserOutput(campaign.members.order_by("username"), many=True).data)

    @extend_schema(request=InputSerializer, responses={201: UserOutput})
    def post(self, request, campaign_id: int):
        campaign = selectors.campaign_get_for_user(campaign_id=campaign_id, user=request.user)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = campaign_services.user_by_username(username=data.validated_data["username"])
        campaign_services.campaign_member_add(campaign=campaign, user=user)
        return Response(UserOutput(user).data, status=status.HTTP_201_CREATED)


class CampaignMemberDetailApi(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(responses={204: None})
    def delete(self, request, campaign_id: int, username: str):
        campaign = selectors.campaign_get_for_user(campaign_id=campaign_id, user=request.user)
        user = campaign_services.user_by_username(username=username)
        campaign_services.campaign_member_remove(campaign=campaign, user=user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class CampaignAnnotationsApi(APIView):
    """Admins and reviewers read a campaign's annotations; annotators get only their own."""

    @extend_schema(responses={200: AnnotationAdminOutput(many=True)})
    def get(self, request, campaign_id: int):
        campaign = selectors.campaign_get_for_user(campaign_id=campaign_id, user=request.user)
        annotations = selectors.annotations_for_reader(campaign=campaign, user=request.user)
        return Response(AnnotationAdminOutput(annotations[:1000], many=True).data)
