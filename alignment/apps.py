from django.apps import AppConfig


class AlignmentConfig(AppConfig):
    name = "alignment"
    verbose_name = "Alignment"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # The review queue flags finished items where the active critic disagrees with the consensus.
        from annotation.quality.review import VIDEO_FLAG_SOURCES

        from .services.active_learning import critic_disagreement_flags

        VIDEO_FLAG_SOURCES["critic_disagrees"] = critic_disagreement_flags
