from django.apps import AppConfig


class AlignmentConfig(AppConfig):
    name = "alignment"
    verbose_name = "Alignment"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # What the other modules only know as hooks, wired here once: the job kinds, how a job and a loop's
        # wake-up reach a worker, and what the data side asks of the model side (annotation never imports
        # alignment): the review queue's critic flag, re-ordering a campaign switched to uncertainty order,
        # and starting the job that builds a snapshot.
        from annotation.quality.review import VIDEO_FLAG_SOURCES
        from annotation.services.campaigns import TASK_ORDER_LISTENERS
        from annotation.snapshots.services import SNAPSHOT_JOB_STARTER

        from . import jobkinds  # noqa: F401 (registers every job kind)
        from .loop.run import loop_waker_set
        from .services.active_learning import campaign_task_order_changed, critic_disagreement_flags
        from .services.jobs import job_dispatcher_set
        from .services.snapshots import snapshot_job_start
        from .tasks import job_send, loop_wake_send

        job_dispatcher_set(job_send)
        loop_waker_set(loop_wake_send)
        VIDEO_FLAG_SOURCES["critic_disagrees"] = critic_disagreement_flags
        if campaign_task_order_changed not in TASK_ORDER_LISTENERS:
            TASK_ORDER_LISTENERS.append(campaign_task_order_changed)
        SNAPSHOT_JOB_STARTER[:] = [snapshot_job_start]
