import factory
from django.contrib.auth import get_user_model

from annotation.models import Campaign, CampaignItem, CampaignMembership, Prompt, Video
from annotation.roles import role_grant


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.PostGenerationMethodCall("set_password", "pw-for-tests-123")

    @factory.post_generation
    def roles(self, create, extracted, **kwargs):
        self.save()
        for role in extracted or ["annotator"]:
            role_grant(user=self, role=role)


class PromptFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Prompt

    text = factory.Sequence(lambda n: f"a red circle moving left number {n}")
    normalized = factory.LazyAttribute(lambda o: o.text.lower())
    caption = factory.LazyAttribute(lambda o: f"A detailed scene: {o.text}.")


class VideoFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Video

    file = factory.Sequence(lambda n: f"videos/v{n}.mp4")
    prompt = factory.SubFactory(PromptFactory)
    frames, fps, width, height, duration = 16, 8.0, 64, 64, 2.0


class CampaignFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Campaign

    name = factory.Sequence(lambda n: f"campaign {n}")
    overlap = 2


class ItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CampaignItem

    campaign = factory.SubFactory(CampaignFactory)
    video = factory.SubFactory(VideoFactory)


def add_member(campaign, user):
    CampaignMembership.objects.get_or_create(campaign=campaign, user=user)
    return user
