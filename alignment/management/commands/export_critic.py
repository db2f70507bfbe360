from django.core.management.base import BaseCommand, CommandError

from lift.api_errors import ApplicationError


class Command(BaseCommand):
    help = "Export a critic version as a plain transformers (merged) or peft (adapter) directory with a model card."

    def add_arguments(self, parser):
        parser.add_argument("version", type=int, help="critic version id (see GET /api/models/)")
        parser.add_argument("--out", required=True, help="directory to write (replaced whole)")
        parser.add_argument("--layout", choices=["merged", "adapter"], default="merged",
                            help="merged: full transformers weights; adapter: the peft LoRA adapter over its base")

    def handle(self, *args, version, out, layout, **options):
        from alignment.models import ModelVersion
        from alignment.services.critic_export import critic_export

        found = ModelVersion.objects.filter(pk=version, kind=ModelVersion.Kind.CRITIC).first()
        if found is None:
            raise CommandError(f"No critic version {version}.")
        try:
            path = critic_export(version=found, out_dir=out, layout=layout)
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(f"critic {found.name} exported to {path}")
