"""API token authentication that loads the token, its user and the user's roles in one statement."""
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication

from .roles import role_flags, roles_remember


class TokenWithRolesAuthentication(TokenAuthentication):
    """DRF's TokenAuthentication (same header, same answers), with the roles read alongside: every API
    call checks roles, and a second query for them cost as much as the token look-up itself."""

    def authenticate_credentials(self, key):
        token = self.get_model().objects.select_related("user").annotate(**role_flags("user_id")).filter(key=key).first()
        if token is None:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        roles_remember(token.user, token)
        return (token.user, token)
