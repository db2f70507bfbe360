"""API tokens and browser sessions: one token per user (DRF's Token); revoking deletes it, so the next call
with it is a 401. Revoking a user's access ends their browser sessions as well."""
from rest_framework.authtoken.models import Token

from ..models import UserSession


def tokens_revoke(*, user) -> int:
    """Delete the user's API tokens; returns how many there were. A new sign-in issues a fresh one."""
    deleted, _ = Token.objects.filter(user=user).delete()
    return deleted


def user_access_revoke(*, user) -> dict:
    """A lost laptop or a contractor who left: their tokens and their signed-in browsers stop at once."""
    sessions, _ = UserSession.objects.filter(user=user).delete()
    return {"tokens": tokens_revoke(user=user), "sessions": sessions}
