from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

DEMO_USERS = {"annotator": "annotate-demo", "reviewer": "review-demo", "admin": "admin-demo"}


class Command(BaseCommand):
    help = ("Demo users, a demo campaign, and generate jobs that fill it (the synthetic world, and the tiny CogVideoX "
            "pretrained on it).")

    def add_arguments(self, parser):
        parser.add_argument("--videos", type=int, default=12, help="synthetic-world videos to generate")

    def handle(self, *args, videos, **options):
        from alignment.engine.synthetic import distinct_prompts
        from alignment.engine.pretrain import GENERATOR, install_shipped
        from alignment.services.generation import generation_launch
        from alignment.services.registry import version_register
        from annotation.models import Campaign, Prompt
        from annotation.roles import role_grant
        from annotation.services.campaigns import campaign_create, campaign_member_add
        from annotation.services.prompts import prompt_categories_ensure_defaults, prompt_create, prompt_normalize

        User = get_user_model()
        users = {}
        for role, password in DEMO_USERS.items():
            user, created = User.objects.get_or_create(username=role, defaults={"is_staff": role == "admin",
                                                                               "is_superuser": role == "admin"})
            if created:
                user.set_password(password)
                user.save()
            role_grant(user=user, role=role)
            users[role] = user
        campaign = Campaign.objects.filter(name="Demo campaign").first() or campaign_create(
            name="Demo campaign", overlap=2, created_by=users["admin"],
            guidelines="# Rate each video\n\nWatch the whole clip, then rate **semantic consistency**, "
                       "**motion smoothness** and **video fidelity**. Explain every rating in a sentence.")
        for role in ("annotator", "reviewer", "admin"):
            campaign_member_add(campaign=campaign, user=users[role])
        prompt_categories_ensure_defaults()

        texts = distinct_prompts(videos, seed=2024)
        prompts = [Prompt.objects.filter(normalized=prompt_normalize(t)).first() or prompt_create(text=t, source="synthetic")
                   for t in texts]
        world = version_register(kind="generator", name="synthetic world", base="synthetic://world",
                                 config={"frames": 32, "height": 128, "width": 128, "fps": 8, "steps": 1})
        tiny_dir = install_shipped(settings.LIFT["MODELS_DIR"])[GENERATOR]
        tiny = version_register(kind="generator", name="tiny cogvideox (pretrained on the synthetic world)",
                                base=str(tiny_dir), config={"frames": 9, "height": 48, "width": 48, "fps": 8, "steps": 20,
                                                            "guidance": 4.0, "max_sequence_length": 16})
        jobs = [generation_launch(generator_version=world.pk, prompt_ids=[p.pk for p in prompts], seeds=[0],
                                  campaign=campaign.pk, created_by=users["admin"])[0],
                generation_launch(generator_version=tiny.pk, prompt_ids=[p.pk for p in prompts[:2]], seeds=[0],
                                  campaign=campaign.pk, created_by=users["admin"])[0]]
        self.stdout.write(f"demo campaign {campaign.pk}; generate jobs {[j.pk for j in jobs]} queued for the worker")
