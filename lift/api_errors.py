"""One place that turns errors into JSON: {"detail": str, "code": str, "fields": {...}}."""
from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


class ApplicationError(Exception):
    """A domain rule was broken; the message is meant for the person who sent the request."""

    status_code = status.HTTP_400_BAD_REQUEST
    code = "invalid"

    def __init__(self, message: str, *, code: str | None = None, status_code: int | None = None, fields=None):
        super().__init__(message)
        self.message = message
        self.code = code or self.code
        self.status_code = status_code or self.status_code
        self.fields = fields or {}


class Conflict(ApplicationError):
    status_code = status.HTTP_409_CONFLICT
    code = "conflict"


class NotFound(ApplicationError):
    status_code = status.HTTP_404_NOT_FOUND
    code = "not_found"


def _flatten(detail):
    """DRF error detail (nested lists/dicts of ErrorDetail) to plain strings."""
    if isinstance(detail, dict):
        return {str(k): _flatten(v) for k, v in detail.items()}
    if isinstance(detail, list):
        flat = [_flatten(v) for v in detail]
        return flat[0] if len(flat) == 1 and isinstance(flat[0], str) else flat
    return str(detail)


def _first_message(fields) -> str:
    if isinstance(fields, dict):
        for key, value in fields.items():
            inner = _first_message(value)
            return inner if key in ("non_field_errors", "detail") else f"{key}: {inner}"
    if isinstance(fields, list) and fields:
        return _first_message(fields[0])
    return str(fields)


def error_body(detail: str, code: str, fields=None) -> dict:
    return {"detail": detail, "code": code, "fields": fields or {}}


def exception_handler(exc, context):
    if isinstance(exc, ApplicationError):
        return Response(error_body(exc.message, exc.code, exc.fields), status=exc.status_code)
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(getattr(exc, "message_dict", None) or exc.messages)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    if isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()

    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # a real bug: let it surface as a 500 and be logged
    if isinstance(exc, exceptions.ValidationError):
        fields = _flatten(exc.detail)
        if isinstance(fields, (list, str)):
            fields = {"non_field_errors": fields if isinstance(fields, list) else [fields]}
        response.data = error_body(_first_message(fields), "invalid", fields)
    else:
        detail = _flatten(getattr(exc, "detail", str(exc)))
        code = exc.get_codes() if hasattr(exc, "get_codes") else "error"
        response.data = error_body(
            detail if isinstance(detail, str) else _first_message(detail),
            code if isinstance(code, str) else "error",
        )
    return response


@csrf_exempt  # an unknown URL is 404 for every method, not a CSRF failure
def json_404(request, exception=None):
    return JsonResponse(error_body("Not found.", "not_found"), status=404)


def json_500(request):
    return JsonResponse(error_body("Server error; the team has been notified.", "server_error"), status=500)


def json_400(request, exception=None):
    return JsonResponse(error_body("Bad request.", "bad_request"), status=400)


def json_403(request, exception=None):
    return JsonResponse(error_body("You do not have permission to do this.", "permission_denied"), status=403)


def csrf_failure(request, reason=""):
    """CSRF_FAILURE_VIEW: a session write without a valid CSRF token (Django's default answers in HTML)."""
    return JsonResponse(error_body(f"CSRF check failed: {reason}", "csrf_failed"), status=403)
