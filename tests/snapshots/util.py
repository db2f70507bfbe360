import hashlib
import itertools

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from annotation.models import Prompt, Video
from tests.factories import CampaignFactory, ItemFactory, UserFactory, add_member
from tests.quality.util import annotate, ratings

LEVELS = ("Good", "Normal", "Bad")
_serial = itertools.count()


def real_video(n: int, prompt: Prompt | None = None) -> Video:
    """A video with a file in MEDIA_ROOT and its sha256 (bytes are not a real mp4; nothing decodes them)."""
    data = f"fake-video-bytes-{n}".encode() * 10
    name = default_storage.save(f"videos/t{n}.mp4", ContentFile(data))
    prompt = prompt or Prompt.objects.create(text=f"a cat number {n} jumps", normalized=f"a cat number {n} jumps",
                                             caption=f"A detailed caption of cat {n} jumping over a fence.")
    return Video.objects.create(file=name, prompt=prompt, sha256=hashlib.sha256(data).hexdigest())


def rated_campaign(n_videos=12, n_annotators=3, *, prompts_shared=True):
    """Videos (two per prompt when shared) each rated by every annotator with varied ratings."""
    campaign = CampaignFactory(overlap=n_annotators)
    users = [add_member(campaign, UserFactory(roles=["annotator"])) for _ in range(n_annotators)]
    items = []
    for v in range(n_videos):
        prompt = None
        if prompts_shared and v % 2 == 1:
            prompt = items[-1].video.prompt
        items.append(ItemFactory(campaign=campaign, video=real_video(next(_serial), prompt)))
    annotations = []
    for i, item in enumerate(items):
        for j, user in enumerate(users):
            values = ratings(LEVELS[(i + j) % 3], LEVELS[i % 3], LEVELS[(i * j) % 3],
                             rationale=f"video {i} by annotator {j}: the motion is plausible.")
            annotations.append(annotate(item, user, values, time_spent_ms=10_000 + 100 * i + j))
    return campaign, users, items, annotations
