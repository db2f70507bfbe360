import os
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Export the prompt bank as CSV or JSONL (the columns import_prompts reads back unchanged)."

    def add_arguments(self, parser):
        parser.add_argument("--format", choices=["csv", "jsonl"], default="jsonl")
        parser.add_argument("--out", required=True, help="output file")

    def handle(self, *args, format, out, **options):
        from annotation.services.prompts import prompts_export_lines

        target = Path(out)
        if not target.parent.is_dir():
            raise CommandError(f"No folder {target.parent} to write into.")
        partial = target.with_name(f".{target.name}.partial")
        lines = 0
        # Written under a temporary name and renamed, so a failed export never leaves a truncated file.
        with open(partial, "w", encoding="utf-8", newline="") as handle:
            for line in prompts_export_lines(fmt=format):
                handle.write(line)
                lines += 1
        os.replace(partial, target)
        header = 1 if format == "csv" else 0
        self.stdout.write(f"exported {lines - header} prompts to {target}")
