from django.urls import path

from . import apis, apis_console, apis_critic, apis_loop, apis_prompts, apis_snapshots, apis_videos

urlpatterns = [
    path("jobs/", apis.JobListApi.as_view(), name="job-list"),
    path("jobs/<int:job_id>/", apis.JobDetailApi.as_view(), name="job-detail"),
    path("jobs/<int:job_id>/cancel/", apis.JobCancelApi.as_view(), name="job-cancel"),
    path("jobs/<int:job_id>/retry/", apis_loop.JobRetryApi.as_view(), name="job-retry"),
    path("retrain/policy/", apis_loop.RetrainPolicyApi.as_view(), name="retrain-policy"),
    path("retrain/loops/", apis_loop.RetrainLoopStartApi.as_view(), name="retrain-loop-start"),
    path("retrain/triggers/", apis_loop.RetrainTriggerListApi.as_view(), name="retrain-trigger-list"),
    path("models/", apis.ModelListApi.as_view(), name="model-list"),
    path("videos/", apis_videos.VideoUploadApi.as_view(), name="video-upload"),
    path("models/<int:version_id>/promote/", apis.ModelPromoteApi.as_view(), name="model-promote"),
    path("models/<int:version_id>/export/", apis_critic.CriticExportApi.as_view(), name="critic-export"),
    path("snapshots/", apis_snapshots.SnapshotListApi.as_view(), name="snapshot-list"),
    path("snapshots/<int:snapshot_id>/", apis_snapshots.SnapshotDetailApi.as_view(), name="snapshot-detail"),
    path("snapshots/<int:snapshot_id>/download/", apis_snapshots.SnapshotDownloadApi.as_view(),
         name="snapshot-download"),
    path("snapshots/<int:snapshot_id>/download-link/", apis_snapshots.SnapshotDownloadLinkApi.as_view(),
         name="snapshot-download-link"),
    path("snapshots/<int:snapshot_id>/signed-download/", apis_snapshots.SnapshotSignedDownloadApi.as_view(),
         name="snapshot-signed-download"),
    path("console/overview/", apis_console.OverviewApi.as_view(), name="console-overview"),
    path("console/videos/", apis_console.VideoLibraryApi.as_view(), name="console-videos"),
    path("prompts/expand/", apis_prompts.PromptExpandApi.as_view(), name="prompt-expand"),
]
