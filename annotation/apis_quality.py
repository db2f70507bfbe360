"""Thin API views for quality control: figures, the reviewer queue, review decisions (reviewers and admins)."""
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from .models import AnnotationReview
from .quality import report, review


class QualityApi(APIView):
    class FilterSerializer(serializers.Serializer):
        samples = serializers.IntegerField(min_value=0, max_value=5000, default=1000)
        seed = serializers.IntegerField(min_value=0, default=0)

    @extend_schema(parameters=[FilterSerializer], responses={200: dict})
    def get(self, request, campaign_id: int):
        campaign = review.campaign_get_for_reviewer(campaign_id=campaign_id, user=request.user)
        params = self.FilterSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        return Response(report.campaign_quality(campaign=campaign, **params.validated_data))


class AnnotatorsApi(APIView):
    @extend_schema(responses={200: dict})
    def get(self, request, campaign_id: int):
        campaign = review.campaign_get_for_reviewer(campaign_id=campaign_id, user=request.user)
        return Response({"annotators": report.campaign_annotator_figures(campaign=campaign)})


class ReviewQueueApi(APIView):
    class FilterSerializer(serializers.Serializer):
        limit = serializers.IntegerField(min_value=1, max_value=1000, default=100)

    @extend_schema(parameters=[FilterSerializer], responses={200: dict})
    def get(self, request, campaign_id: int):
        campaign = review.campaign_get_for_reviewer(campaign_id=campaign_id, user=request.user)
        params = self.FilterSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        return Response({"results": review.review_queue(campaign=campaign, **params.validated_data)})


class AnnotationReviewApi(APIView):
    class InputSerializer(serializers.Serializer):
        action = serializers.ChoiceField(choices=AnnotationReview.Action.choices)
        ratings = serializers.JSONField(required=False)
        reason = serializers.CharField(required=False, allow_blank=True, max_length=5000, default="")

    class OutputSerializer(serializers.ModelSerializer):
        reviewer = serializers.CharField(source="reviewer.username")

        class Meta:
            model = AnnotationReview
            fields = ["id", "annotation", "reviewer", "action", "reason", "before", "after", "created_at"]

    @extend_schema(responses={200: OutputSerializer(many=True)})
    def get(self, request, annotation_id: int):
        annotation = review.annotation_get_for_reviewer(annotation_id=annotation_id, user=request.user)
        return Response(self.OutputSerializer(review.annotation_reviews(annotation=annotation), many=True).data)

    @extend_schema(request=InputSerializer, responses={201: OutputSerializer})
    def post(self, request, annotation_id: int):
        annotation = review.annotation_get_for_reviewer(annotation_id=annotation_id, user=request.user)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        record = review.annotation_review(annotation=annotation, reviewer=request.user, **data.validated_data)
        return Response(self.OutputSerializer(record).data, status=status.HTTP_201_CREATED)
