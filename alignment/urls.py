from django.urls import path

from . import apis_console, apis_jobs, apis_loop, apis_models, apis_prompts, apis_videos

urlpatterns = [
    path("jobs/", apis_jobs.JobListApi.as_view(), name="job-list"),
    path("jobs/<int:job_id>/", apis_jobs.JobDetailApi.as_view(), name="job-detail"),
    path("jobs/<int:job_id>/cancel/", apis_jobs.JobCancelApi.as_view(), name="job-cancel"),
    path("jobs/<int:job_id>/retry/", apis_jobs.JobRetryApi.as_view(), name="job-retry"),
    path("retrain/policy/", apis_loop.RetrainPolicyApi.as_view(), name="retrain-policy"),
    path("retrain/loops/", apis_loop.RetrainLoopStartApi.as_view(), name="retrain-loop-start"),
    path("retrain/triggers/", apis_loop.RetrainTriggerListApi.as_view(), name="retrain-trigger-list"),
    path("models/", apis_models.ModelListApi.as_view(), name="model-list"),
    path("models/<int:version_id>/promote/", apis_models.ModelPromoteApi.as_view(), name="model-promote"),
    path("models/<int:version_id>/export/", apis_models.CriticExportApi.as_view(), name="critic-export"),
    path("videos/", apis_videos.VideoUploadApi.as_view(), name="video-upload"),
    path("console/overview/", apis_console.OverviewApi.as_view(), name="console-overview"),
    path("console/videos/", apis_console.VideoLibraryApi.as_view(), name="console-videos"),
    path("prompts/expand/", apis_prompts.PromptExpandApi.as_view(), name="prompt-expand"),
]
