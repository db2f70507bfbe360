"""Thin API views for signing in and out: a token for scripts, a session (with CSRF) for the browser,
who am I, and an admin revoking a user's access."""
from django.contrib.auth import authenticate, login, logout
from django.middleware.csrf import get_token
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.authtoken.models import Token
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from lift.api_errors import ApplicationError
from lift.throttling import AnonThrottle, LoginThrottle

from .permissions import IsAdmin
from .roles import user_roles
from .services.campaigns import user_by_username
from .services.tokens import tokens_revoke, user_access_revoke


class UserOutput(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    roles = serializers.SerializerMethodField()

    def get_roles(self, user) -> list[str]:
        return user_roles(user)


class CredentialsInput(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=256, trim_whitespace=False)


def _authenticate(request, data) -> object:
    user = authenticate(request, username=data["username"], password=data["password"])
    if user is None or not user.is_active:
        raise ApplicationError("Wrong username or password.", code="bad_credentials", status_code=401)
    return user


class TokenApi(APIView):
    """Token for scripts and synthetic annotators: `Authorization: Token <key>`."""

    permission_classes = [AllowAny]
    authentication_classes = []
    throttle_classes = [LoginThrottle, AnonThrottle]

    class OutputSerializer(serializers.Serializer):
        token = serializers.CharField()
        user = UserOutput()

    @extend_schema(request=CredentialsInput, responses={200: OutputSerializer})
    def post(self, request):
        data = CredentialsInput(data=request.data)
        data.is_valid(raise_exception=True)
        user = _authenticate(request, data.validated_data)
        token, _ = Token.objects.get_or_create(user=user)
        return Response(self.OutputSerializer({"token": token.key, "user": user}).data)


class LoginApi(APIView):
    """Session sign-in for the browser app (CSRF protects the writes that follow)."""

    permission_classes = [AllowAny]
    throttle_classes = [LoginThrottle, AnonThrottle]

    @extend_schema(request=CredentialsInput, responses={200: UserOutput})
    def post(self, request):
        data = CredentialsInput(data=request.data)
        data.is_valid(raise_exception=True)
        user = _authenticate(request, data.validated_data)
        login(request, user)
        return Response(UserOutput(user).data)


class LogoutApi(APIView):
    permission_classes = [AllowAny]

    @extend_schema(request=None, responses={204: None})
    def post(self, request):
        if isinstance(request.auth, Token):  # a script signing out: its token is revoked, not just forgotten
            tokens_revoke(user=request.user)
        logout(request)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeApi(APIView):
    @extend_schema(responses={200: UserOutput})
    def get(self, request):
        return Response(UserOutput(request.user).data)


class CsrfApi(APIView):
    permission_classes = [AllowAny]

    class OutputSerializer(serializers.Serializer):
        csrf_token = serializers.CharField()

    @extend_schema(responses={200: OutputSerializer})
    def get(self, request):
        return Response({"csrf_token": get_token(request)})


class UserTokensRevokeApi(APIView):
    """A lost laptop or a contractor who left: their scripts' token and their browser sessions stop working
    at once."""

    permission_classes = [IsAdmin]

    class OutputSerializer(serializers.Serializer):
        revoked = serializers.IntegerField(help_text="API tokens deleted.")
        sessions = serializers.IntegerField(help_text="Browser sessions ended.")

    @extend_schema(request=None, responses={200: OutputSerializer})
    def post(self, request, username: str):
        revoked = user_access_revoke(user=user_by_username(username=username))
        return Response({"revoked": revoked["tokens"], "sessions": revoked["sessions"]})
