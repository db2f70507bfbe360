from django.apps import AppConfig


class AlignmentConfig(AppConfig):
    name = "alignment"
    verbose_name = "Alignment"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # The review queue flags finished items where the active critic disagrees with the consensus, and a
        # campaign switched to uncertainty order is re-ordered by the active critic.
        from annotation.quality.review import VIDEO_FLAG_SOURCES
        from annotation.services.campaigns import TASK_ORDER_LISTENERS

        from .services.active_learning import campaign_task_order_changed, critic_disagreement_flags

        VIDEO_FLAG_SOURCES["critic_disagrees"] = critic_disagreement_flags
        if campaign_task_order_changed not in TASK_ORDER_LISTENERS:
            TASK_ORDER_LISTENERS.append(campaign_task_order_changed)
