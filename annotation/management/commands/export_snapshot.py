from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from lift.api_errors import ApplicationError


class Command(BaseCommand):
    help = "Export a numbered LiFT-HRA snapshot (same service as the snapshot job) into a folder and a zip."

    def add_arguments(self, parser):
        parser.add_argument("--campaign", type=int, action="append", default=[], help="campaign id (repeatable)")
        parser.add_argument("--state", action="append", default=[], help="review state to include (repeatable)")
        parser.add_argument("--since", help="ISO date: annotations created at or after")
        parser.add_argument("--until", help="ISO date: annotations created before")
        parser.add_argument("--seed", type=int, default=0, help="split seed")
        parser.add_argument("--videos", action="store_true", help="copy the video files into videos/")
        parser.add_argument("--questions", choices=["schema", "public"], default="schema",
                            help="lift_hra.json asks the schema's questions (default) or the public LiFT critic's")
        parser.add_argument("--videoalign", action="store_true",
                            help="pairwise campaigns: also write VideoAlign's training CSVs into videoalign/")
        parser.add_argument("--out", required=True, help="output folder (the zip is written next to it)")

    def handle(self, *args, **options):
        from annotation.snapshots.services import snapshot_build, snapshot_create

        filters = {"campaign_ids": options["campaign"]}
        if options["state"]:
            filters["review_states"] = options["state"]
        for key in ("since", "until"):
            if options[key]:
                filters[key] = options[key]
        try:
            snapshot = snapshot_create(params={"filters": filters, "seed": options["seed"],
                                               "include_videos": options["videos"],
                                               "question_style": options["questions"],
                                               "videoalign_csv": options["videoalign"]})
            snapshot = snapshot_build(snapshot=snapshot, out_dir=Path(options["out"]),
                                      report=lambda **kw: kw.get("log") and self.stdout.write(kw["log"]))
        except ApplicationError as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(self.style.SUCCESS(
            f"Snapshot {snapshot.number}: {snapshot.counts.get('annotations', 0)} annotations in {snapshot.folder_path} "
            f"({snapshot.archive_path})."))
