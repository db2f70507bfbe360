"""Withdrawing and voiding annotations (soft states, never a delete) and reading their audit trail."""
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from . import selectors
from .models import AnnotationAudit
from .permissions import IsAdmin
from .quality.review import annotation_get_for_reviewer
from .services import retraction


class AuditOutput(serializers.ModelSerializer):
    actor = serializers.CharField(source="actor.username")
    # Plain text in the schema: an enum here would collide with the review endpoint's "action" enum.
    action = serializers.CharField()

    class Meta:
        model = AnnotationAudit
        fields = ["id", "annotation", "actor", "action", "reason", "before", "after", "created_at"]


class ReasonInput(serializers.Serializer):
    reason = serializers.CharField(max_length=retraction.REASON_MAX)


class AnnotationWithdrawApi(APIView):
    """The annotator takes back their own, still unreviewed annotation; it stays, marked withdrawn."""

    @extend_schema(request=ReasonInput, responses={201: AuditOutput})
    def post(self, request, annotation_id: int):
        annotation = selectors.annotation_get_own(annotation_id=annotation_id, user=request.user)
        data = ReasonInput(data=request.data)
        data.is_valid(raise_exception=True)
        entry = retraction.annotation_withdraw(annotation=annotation, annotator=request.user, **data.validated_data)
        return Response(AuditOutput(entry).data, status=status.HTTP_201_CREATED)


class AnnotationVoidApi(APIView):
    """An admin voids an annotation; it stays, marked voided, out of consensus and snapshots."""

    permission_classes = [IsAdmin]

    @extend_schema(request=ReasonInput, responses={201: AuditOutput})
    def post(self, request, annotation_id: int):
        annotation = selectors.annotation_get(annotation_id=annotation_id)
        data = ReasonInput(data=request.data)
        data.is_valid(raise_exception=True)
        entry = retraction.annotation_void(annotation=annotation, admin=request.user, **data.validated_data)
        return Response(AuditOutput(entry).data, status=status.HTTP_201_CREATED)


class AnnotationAuditApi(APIView):
    """Reviewers of the campaign and admins read the withdrawals and voidings of an annotation."""

    @extend_schema(responses={200: AuditOutput(many=True)})
    def get(self, request, annotation_id: int):
        annotation = annotation_get_for_reviewer(annotation_id=annotation_id, user=request.user)
        entries = annotation.audit.select_related("actor").order_by("created_at", "id")
        return Response(AuditOutput(entries, many=True).data)
