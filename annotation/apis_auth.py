"""Thin API views for account safety (admins): revoke a user's API tokens."""
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from .permissions import IsAdmin
from .services.campaigns import user_by_username
from .services.tokens import tokens_revoke


class UserTokensRevokeApi(APIView):
    """A lost laptop or a contractor who left: their scripts' token stops working at once."""

    permission_classes = [IsAdmin]

    class OutputSerializer(serializers.Serializer):
        revoked = serializers.IntegerField()

    @extend_schema(request=None, responses={200: OutputSerializer})
    def post(self, request, username: str):
        return Response({"revoked": tokens_revoke(user=user_by_username(username=username))})
