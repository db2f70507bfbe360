"""API tokens: one per user (DRF's Token); revoking deletes it, so the next call with it is a 401."""
from rest_framework.authtoken.models import Token


def tokens_revoke(*, user) -> int:
    """Delete the user's API tokens; returns how many there were. A new sign-in issues a fresh one."""
    deleted, _ = Token.objects.filter(user=user).delete()
    return deleted
