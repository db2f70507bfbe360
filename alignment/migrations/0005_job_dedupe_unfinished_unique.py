# One unfinished job per dedupe key, enforced by the database. Duplicates that a race let in before
# (identical requests that arrived together) are closed first: the oldest stays, the others are
# cancelled with the reason, since the constraint could not be created over them.

from django.db import migrations, models
from django.db.models import Count
from django.utils import timezone

UNFINISHED = ["queued", "running"]


def close_duplicates(apps, schema_editor):
    Job = apps.get_model("alignment", "Job")
    keys = (Job.objects.filter(status__in=UNFINISHED).values("dedupe_key").annotate(n=Count("id"))
            .filter(n__gt=1).values_list("dedupe_key", flat=True))
    for key in list(keys):
        first, *others = Job.objects.filter(dedupe_key=key, status__in=UNFINISHED).order_by("created_at", "id")
        Job.objects.filter(pk__in=[job.pk for job in others]).update(
            status="cancelled", finished_at=timezone.now(), error=f"Duplicate of job {first.pk}, closed by migration "
                                                                  "alignment 0005 (one unfinished job per request).")


class Migration(migrations.Migration):

    dependencies = [
        ('alignment', '0004_job_kind_expand_prompts'),
    ]

    operations = [
        migrations.RunPython(close_duplicates, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name='job',
            constraint=models.UniqueConstraint(condition=models.Q(('status__in', ['queued', 'running'])), fields=('dedupe_key',), name='one_unfinished_job_per_dedupe_key'),
        ),
    ]
