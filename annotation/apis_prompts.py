"""The prompt bank over HTTP: reads for reviewers and admins, writes for admins only."""
from django.http import StreamingHttpResponse
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from lift.api_errors import ApplicationError, NotFound

from .models import Prompt, PromptCategory
from .permissions import IsAdmin, IsReviewer
from .services import prompts as prompt_services

MAX_IMPORT_BYTES = 20 * 1024 * 1024


class PromptOutput(serializers.ModelSerializer):
    class Meta:
        model = Prompt
        fields = ["id", "text", "caption", "categories", "combination_seed", "source", "created_at"]


class CategoryOutput(serializers.ModelSerializer):
    class Meta:
        model = PromptCategory
        fields = ["id", "name", "role", "items"]


def _items_field():
    return serializers.ListField(child=serializers.CharField(max_length=200), min_length=1, max_length=1000)


class _WritesForAdmins(IsReviewer):
    message = "Only admins can change the prompt bank."

    def has_permission(self, request, view) -> bool:
        if request.method in ("GET", "HEAD", "OPTIONS"):
            return super().has_permission(request, view)
        return IsAdmin().has_permission(request, view)


class CategoryListApi(APIView):
    permission_classes = [_WritesForAdmins]

    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=100)
        role = serializers.ChoiceField(choices=PromptCategory.Role.choices)
        items = _items_field()

    @extend_schema(responses={200: CategoryOutput(many=True)})
    def get(self, request):
        return Response(CategoryOutput(prompt_services.prompt_categories_list(), many=True).data)

    @extend_schema(request=InputSerializer, responses={201: CategoryOutput})
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        category = prompt_services.prompt_category_create(**data.validated_data)
        return Response(CategoryOutput(category).data, status=status.HTTP_201_CREATED)


class CategoryItemsApi(APIView):
    permission_classes = [IsAdmin]

    class InputSerializer(serializers.Serializer):
        items = _items_field()

    @extend_schema(request=InputSerializer, responses={200: CategoryOutput})
    def post(self, request, category_id: int):
        category = PromptCategory.objects.filter(pk=category_id).first()
        if category is None:
            raise NotFound("Category not found.")
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        category = prompt_services.prompt_category_add_items(category=category, **data.validated_data)
        return Response(CategoryOutput(category).data)


class PromptListApi(APIView):
    permission_classes = [_WritesForAdmins]

    class FilterSerializer(serializers.Serializer):
        category = serializers.CharField(required=False, max_length=100)
        source = serializers.CharField(required=False, max_length=32)
        search = serializers.CharField(required=False, max_length=200)
        limit = serializers.IntegerField(min_value=1, max_value=500, default=50)
        offset = serializers.IntegerField(min_value=0, default=0)

    class PageOutput(serializers.Serializer):
        count = serializers.IntegerField()
        limit = serializers.IntegerField()
        offset = serializers.IntegerField()
        results = PromptOutput(many=True)

    class InputSerializer(serializers.Serializer):
        text = serializers.CharField(max_length=prompt_services.MAX_PROMPT_CHARS)
        caption = serializers.CharField(required=False, allow_blank=True, max_length=10_000)

    @extend_schema(parameters=[FilterSerializer], responses={200: PageOutput})
    def get(self, request):
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        limit, offset = filters.validated_data.pop("limit"), filters.validated_data.pop("offset")
        prompts = prompt_services.prompts_filter(**filters.validated_data)
        page = {"count": prompts.count(), "limit": limit, "offset": offset, "results": prompts[offset:offset + limit]}
        return Response(self.PageOutput(page).data)

    @extend_schema(request=InputSerializer, responses={201: PromptOutput})
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        prompt = prompt_services.prompt_create(**data.validated_data)
        return Response(PromptOutput(prompt).data, status=status.HTTP_201_CREATED)


class PromptCombineApi(APIView):
    """Draw new short prompts from the categories; the same count, seed and categories give the same prompts."""

    permission_classes = [IsAdmin]

    class InputSerializer(serializers.Serializer):
        count = serializers.IntegerField(min_value=1, max_value=10_000)
        seed = serializers.IntegerField(min_value=0, max_value=2**31 - 1)
        categories = serializers.ListField(child=serializers.CharField(max_length=100), required=False)

    @extend_schema(request=InputSerializer, responses={200: PromptOutput(many=True)})
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        prompts = prompt_services.prompts_combine(count=data.validated_data["count"], seed=data.validated_data["seed"],
                                                  category_names=data.validated_data.get("categories"))
        return Response(PromptOutput(prompts, many=True).data)


def _format_of(upload, given: str) -> str:
    if given:
        return given
    for fmt in ("csv", "jsonl"):
        if upload.name.lower().endswith(f".{fmt}"):
            return fmt
    raise ApplicationError("Say format=csv or format=jsonl, or name the file .csv or .jsonl.",
                           fields={"format": "required"})


class PromptImportApi(APIView):
    """A CSV or JSONL upload; one bad or duplicate row refuses the whole file, naming every duplicate."""

    permission_classes = [IsAdmin]
    parser_classes = [MultiPartParser]

    class InputSerializer(serializers.Serializer):
        file = serializers.FileField()
        format = serializers.ChoiceField(choices=["csv", "jsonl"], required=False)

    class OutputSerializer(serializers.Serializer):
        imported = serializers.IntegerField()

    @extend_schema(request=InputSerializer, responses={201: OutputSerializer})
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        upload = data.validated_data["file"]
        fmt = _format_of(upload, data.validated_data.get("format", ""))
        if upload.size > MAX_IMPORT_BYTES:
            raise ApplicationError(f"The file is larger than {MAX_IMPORT_BYTES // 2**20} MiB; split it.",
                                   code="file_too_large", status_code=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
        try:
            content = upload.read().decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ApplicationError("The file is not UTF-8 text.", code="bad_file") from exc
        prompts = prompt_services.prompts_import(content=content, fmt=fmt)
        return Response({"imported": len(prompts)}, status=status.HTTP_201_CREATED)


class _FormatIsAFileFormat(DefaultContentNegotiation):
    """`?format=csv` names the download's format here, not a DRF renderer; errors still answer in JSON."""

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class PromptExportApi(APIView):
    """The whole bank as a streamed download, in the columns the import reads."""

    permission_classes = [IsAdmin]
    content_negotiation_class = _FormatIsAFileFormat

    class FilterSerializer(serializers.Serializer):
        format = serializers.ChoiceField(choices=["csv", "jsonl"], default="jsonl")

    @extend_schema(parameters=[FilterSerializer], responses={200: OpenApiResponse(description="CSV or JSONL file")})
    def get(self, request):
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        fmt = filters.validated_data["format"]
        lines = prompt_services.prompts_export_lines(fmt=fmt)
        content_type = "text/csv" if fmt == "csv" else "application/x-ndjson"
        response = StreamingHttpResponse((line.encode() for line in lines),
                                         content_type=f"{content_type}; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="prompts.{fmt}"'
        return response
