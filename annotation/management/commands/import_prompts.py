from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from lift.api_errors import ApplicationError


class Command(BaseCommand):
    help = "Import prompts from a CSV or JSONL file (as the API's import: any duplicate refuses the whole file)."

    def add_arguments(self, parser):
        parser.add_argument("path", help="a .csv or .jsonl file")
        parser.add_argument("--format", choices=["csv", "jsonl"], help="default: from the file's extension")

    def handle(self, *args, path, format=None, **options):
        from annotation.services.prompts import prompts_import

        source = Path(path)
        fmt = format or source.suffix.lower().lstrip(".")
        if fmt not in ("csv", "jsonl"):
            raise CommandError("Give --format csv|jsonl, or name the file .csv or .jsonl.")
        try:
            content = source.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(f"Cannot read {source}: {exc}") from exc
        try:
            prompts = prompts_import(content=content, fmt=fmt)
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(f"imported {len(prompts)} prompts from {source}")
