from django.urls import path

from . import apis, apis_quality

urlpatterns = [
    path("auth/token/", apis.TokenApi.as_view(), name="auth-token"),
    path("auth/login/", apis.LoginApi.as_view(), name="auth-login"),
    path("auth/logout/", apis.LogoutApi.as_view(), name="auth-logout"),
    path("auth/me/", apis.MeApi.as_view(), name="auth-me"),
    path("auth/csrf/", apis.CsrfApi.as_view(), name="auth-csrf"),
    path("campaigns/", apis.CampaignListApi.as_view(), name="campaign-list"),
    path("campaigns/<int:campaign_id>/", apis.CampaignDetailApi.as_view(), name="campaign-detail"),
    path("campaigns/<int:campaign_id>/next-task/", apis.NextTaskApi.as_view(), name="campaign-next-task"),
    path("campaigns/<int:campaign_id>/progress/", apis.ProgressApi.as_view(), name="campaign-progress"),
    path("campaigns/<int:campaign_id>/items/", apis.CampaignItemsApi.as_view(), name="campaign-items"),
    path("campaigns/<int:campaign_id>/members/", apis.CampaignMembersApi.as_view(), name="campaign-members"),
    path("campaigns/<int:campaign_id>/members/<str:username>/", apis.CampaignMemberDetailApi.as_view(),
         name="campaign-member-detail"),
    path("campaigns/<int:campaign_id>/annotations/", apis.CampaignAnnotationsApi.as_view(),
         name="campaign-annotations"),
    path("assignments/<int:assignment_id>/submit/", apis.SubmitApi.as_view(), name="assignment-submit"),
    path("assignments/<int:assignment_id>/skip/", apis.SkipApi.as_view(), name="assignment-skip"),
    path("assignments/<int:assignment_id>/extend/", apis.ExtendApi.as_view(), name="assignment-extend"),
    path("campaigns/<int:campaign_id>/quality/", apis_quality.QualityApi.as_view(), name="campaign-quality"),
    path("campaigns/<int:campaign_id>/annotators/", apis_quality.AnnotatorsApi.as_view(), name="campaign-annotators"),
    path("campaigns/<int:campaign_id>/review-queue/", apis_quality.ReviewQueueApi.as_view(),
         name="campaign-review-queue"),
    path("annotations/<int:annotation_id>/review/", apis_quality.AnnotationReviewApi.as_view(),
         name="annotation-review"),
]
