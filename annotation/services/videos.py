"""Video rows: created once per generation key, so a retried generation never makes a second one."""
from django.db import IntegrityError, transaction

from ..models import Prompt, Video


def video_find_generated(*, generation_key: str) -> Video | None:
    return Video.objects.filter(generation_key=generation_key).first()


def video_create(*, file_name: str, poster_name: str = "", prompt: Prompt | None, source: str, generator: str = "",
                 generation_key: str | None = None, seed: int | None = None, params: dict | None = None,
                 info: dict, sha256: str) -> tuple[Video, bool]:
    """Returns (video, created); an existing row with the same generation key is returned as it is."""
    fields = dict(file=file_name, poster=poster_name, prompt=prompt, source=source, generator=generator, seed=seed,
                  generation_params=params or {}, frames=info["frames"], fps=info["fps"], width=info["width"],
                  height=info["height"], duration=info["duration"], sha256=sha256)
    try:
        with transaction.atomic():
            return Video.objects.create(generation_key=generation_key, **fields), True
    except IntegrityError:
        if generation_key is None:
            raise
        return Video.objects.get(generation_key=generation_key), False
