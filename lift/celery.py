import os

from celery import Celery
from kombu import Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lift.settings.local")

app = Celery("lift")
app.config_from_object("django.conf:settings", namespace="CELERY")
# gpu: one task at a time per GPU worker (run with --concurrency 1); cpu: everything else.
app.conf.task_queues = (Queue("gpu"), Queue("cpu"))
app.autodiscover_tasks()
