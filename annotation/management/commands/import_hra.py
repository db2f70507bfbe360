from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from lift.api_errors import ApplicationError


class Command(BaseCommand):
    help = "Import a LiFT-HRA conversation JSON (with its video folder) or one of our snapshots into a campaign."

    def add_arguments(self, parser):
        parser.add_argument("file", help="LiFT-HRA JSON, or a snapshot folder / manifest.json / zip")
        parser.add_argument("--videos", help="folder with the video files (default: next to FILE)")
        parser.add_argument("--campaign", required=True, help="campaign name (created if absent)")

    def handle(self, *args, **options):
        from annotation.snapshots.importer import hra_import

        try:
            counts = hra_import(source=Path(options["file"]), videos_dir=Path(options["videos"]) if options["videos"] else None,
                                campaign_name=options["campaign"])
        except ApplicationError as exc:
            details = "\n".join(f"  {line}" for line in exc.fields.get("errors", []))
            raise CommandError(f"{exc.message}\n{details}".rstrip()) from None
        self.stdout.write(self.style.SUCCESS(
            f"Imported {counts['annotations']} annotations ({counts['videos']} videos, {counts['annotators']} "
            f"annotators, {counts['skipped_existing']} already there) into {counts['campaign']!r}."))
