import json
import sys
import threading
import time

from django.core.management.base import BaseCommand, CommandError

from lift.api_errors import ApplicationError


class Command(BaseCommand):
    help = "Run a job of any kind in the foreground (same validation as the API), with a progress bar."

    def add_arguments(self, parser):
        parser.add_argument("kind")
        parser.add_argument("--params", default="{}", help="JSON object of job parameters")

    def handle(self, *args, kind, params, **options):
        from alignment.models import Job
        from alignment.services.jobs import job_create, job_run
        from alignment.loop.run import loop_run_foreground

        try:
            job, created = job_create(kind=kind, params=json.loads(params), dispatch=False)
        except json.JSONDecodeError as exc:
            raise CommandError(f"--params is not valid JSON: {exc}") from exc
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        if not created:
            raise CommandError(f"An identical job ({job.pk}) is already {job.status}; watch it instead.")
        done = threading.Event()
        watcher = threading.Thread(target=self._progress_bar, args=(job.pk, done), daemon=True)
        watcher.start()
        try:
            if job.kind == Job.Kind.RETRAIN_LOOP:  # every stage runs here too, one after the other
                loop_run_foreground(loop_id=job.pk)
            else:
                job_run(job_id=job.pk)
        finally:
            done.set()
            watcher.join()
        job.refresh_from_db()
        self.stdout.write(f"\njob {job.pk} {job.status}: {json.dumps(job.result)[:500]}")
        if job.status != Job.Status.SUCCEEDED:
            raise CommandError(job.error or f"job {job.status}")

    def _progress_bar(self, job_id, done):
        from django.db import connection

        from alignment.models import Job

        try:
            while not done.is_set():
                job = Job.objects.filter(pk=job_id).values("progress", "phase").first()
                if job:
                    filled = int(job["progress"] * 30)
                    sys.stderr.write(f"\r[{'#' * filled}{'.' * (30 - filled)}] {job['progress']:5.1%} {job['phase'][:40]:40}")
                    sys.stderr.flush()
                time.sleep(0.5)
        finally:
            connection.close()
