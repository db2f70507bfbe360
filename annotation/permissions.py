from rest_framework.permissions import BasePermission

from .roles import is_admin, is_reviewer


class IsAdmin(BasePermission):
    message = "Only admins can do this."

    def has_permission(self, request, view) -> bool:
        return is_admin(request.user)


class IsReviewer(BasePermission):
    message = "Only reviewers and admins can do this."

    def has_permission(self, request, view) -> bool:
        return is_reviewer(request.user)
