import json
from pathlib import Path

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = ("Build tiny models with save_pretrained: random-weight CogVideoX and Qwen2-VL critic, or (--pretrained) "
            "the tiny world's pretrained pair, copied from the repository or (--from-scratch) rebuilt.")

    def add_arguments(self, parser):
        parser.add_argument("--out", required=True, help="directory; gets cogvideox-tiny/ and critic-tiny/, or with "
                                                         "--pretrained tiny-cogvideox/ and tiny-critic/")
        parser.add_argument("--pretrained", action="store_true",
                            help="the models pretrained on the synthetic world (alignment/engine/pretrain)")
        parser.add_argument("--from-scratch", action="store_true",
                            help="with --pretrained: rebuild them (deterministic; see each model card for its time)")

    def handle(self, *args, out, pretrained, from_scratch, **options):
        out = Path(out)
        if pretrained:
            from alignment.engine import pretrain

            if from_scratch:
                def report(fraction, phase, metrics):
                    if metrics.get("step", 0) % 500 == 0:
                        self.stdout.write(f"{phase} {fraction:.0%} {json.dumps(metrics)}")

                from alignment.engine.pretrain.build import build_pretrained

                figures = build_pretrained(out, on_progress=report)
                self.stdout.write(json.dumps(figures, indent=1))
            else:
                for name, path in pretrain.install_shipped(out).items():
                    self.stdout.write(f"{name}: {path}")
            return
        from alignment.engine.critic.tiny import build_tiny_critic
        from alignment.engine.tiny import build_tiny_cogvideox

        generator = build_tiny_cogvideox(out / "cogvideox-tiny")
        critic = build_tiny_critic(out / "critic-tiny")
        self.stdout.write(f"generator: {generator}\ncritic: {critic}")
