from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from lift.api_errors import ApplicationError

FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".txt": "txt", ".json": "vbench"}


class Command(BaseCommand):
    help = ("Import prompts: our CSV or JSONL export (any duplicate refuses the whole file, as the API's import), "
            "or a prompt suite: a plain list, one prompt per line (txt), or VBench's JSON with a dimension list "
            "per prompt (vbench); a suite's names become the prompts' categories.")

    def add_arguments(self, parser):
        parser.add_argument("path", help="a .csv, .jsonl, .txt or VBench .json file")
        parser.add_argument("--format", choices=sorted(set(FORMATS.values())), help="default: from the file's extension")
        parser.add_argument("--category", help="the category of a plain list (default: the file's name, e.g. color)")

    def handle(self, *args, path, format=None, category=None, **options):
        from annotation.services.prompts import prompts_import, prompts_import_suite

        source = Path(path)
        fmt = format or FORMATS.get(source.suffix.lower())
        if fmt is None:
            raise CommandError(f"Give --format {'|'.join(sorted(set(FORMATS.values())))}, or name the file "
                               f"{', '.join(FORMATS)}.")
        try:
            content = source.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(f"Cannot read {source}: {exc}") from exc
        try:
            if fmt in ("csv", "jsonl"):
                self.stdout.write(f"imported {len(prompts_import(content=content, fmt=fmt))} prompts from {source}")
                return
            counts = prompts_import_suite(content=content, fmt=fmt, category=category or source.stem)
        except ApplicationError as exc:
            details = "\n".join(f"  {line}" for line in exc.fields.get("errors", []))
            raise CommandError(f"{exc.message}\n{details}".rstrip()) from exc
        self.stdout.write(f"from {source}: {counts['added']} new prompts, {counts['tagged']} already in the bank "
                          f"given the suite's categories, {counts['unchanged']} unchanged")
