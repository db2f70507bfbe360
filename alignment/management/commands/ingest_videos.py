import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from lift.api_errors import ApplicationError


class Command(BaseCommand):
    help = "Ingest outside videos from a folder (optionally a JSON manifest {file: prompt}) into a campaign."

    def add_arguments(self, parser):
        parser.add_argument("folder")
        parser.add_argument("--manifest", help="JSON file mapping file names to prompts")
        parser.add_argument("--campaign", type=int, help="campaign id to add the videos to")

    def handle(self, *args, folder, manifest=None, campaign=None, **options):
        from alignment.services.ingest import videos_ingest_folder
        from annotation.models import Campaign
        from annotation.services.campaigns import campaign_add_videos

        try:
            mapping = json.loads(Path(manifest).read_text()) if manifest else None
            videos = videos_ingest_folder(folder=Path(folder), manifest=mapping)
            if campaign:
                campaign_add_videos(campaign=Campaign.objects.get(pk=campaign), video_ids=[v.pk for v in videos])
        except (ApplicationError, json.JSONDecodeError, OSError, Campaign.DoesNotExist) as exc:
            raise CommandError(getattr(exc, "message", str(exc))) from exc
        self.stdout.write(f"ingested {len(videos)} videos: {[v.pk for v in videos]}")
