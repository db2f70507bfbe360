from pathlib import Path

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Build tiny random-weight models (CogVideoX generator, Qwen2-VL critic) with save_pretrained."

    def add_arguments(self, parser):
        parser.add_argument("--out", required=True, help="directory; gets cogvideox-tiny/ and critic-tiny/")

    def handle(self, *args, out, **options):
        from alignment.engine.critic.tiny import build_tiny_critic
        from alignment.engine.tiny import build_tiny_cogvideox

        out = Path(out)
        generator = build_tiny_cogvideox(out / "cogvideox-tiny")
        critic = build_tiny_critic(out / "critic-tiny")
        self.stdout.write(f"generator: {generator}\ncritic: {critic}")
