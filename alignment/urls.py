from django.urls import path

from . import apis

urlpatterns = [
    path("jobs/", apis.JobListApi.as_view(), name="job-list"),
    path("jobs/<int:job_id>/", apis.JobDetailApi.as_view(), name="job-detail"),
    path("jobs/<int:job_id>/cancel/", apis.JobCancelApi.as_view(), name="job-cancel"),
    path("models/", apis.ModelListApi.as_view(), name="model-list"),
    path("models/<int:version_id>/promote/", apis.ModelPromoteApi.as_view(), name="model-promote"),
]
