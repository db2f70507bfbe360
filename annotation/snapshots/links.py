"""Expiring download links for snapshot archives: signed with SECRET_KEY, bound to one snapshot and the
admin who asked, valid for LIFT["SNAPSHOT_LINK_MINUTES"]. Whoever holds the link can download until then
(a browser download or a curl on another machine needs no token), and only while that user is an admin."""
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import signing
from django.utils import timezone

from lift.api_errors import ApplicationError

from ..models import Snapshot
from ..roles import is_admin

_SALT = "lift.snapshot-download"


def _refused(reason: str) -> ApplicationError:
    return ApplicationError(f"This download link is {reason}; ask for a new one.", code="bad_download_link",
                            status_code=403)


def snapshot_download_link(*, snapshot: Snapshot, user) -> tuple[str, datetime]:
    """A signed token for the archive of `snapshot`, and when it expires."""
    token = signing.TimestampSigner(salt=_SALT).sign_object({"snapshot": snapshot.pk, "user": user.pk})
    return token, timezone.now() + timedelta(minutes=settings.LIFT["SNAPSHOT_LINK_MINUTES"])


def snapshot_from_download_link(*, snapshot_id: int, token: str) -> Snapshot:
    """The snapshot a valid, unexpired link names; a 403 for an expired, tampered or foreign link."""
    max_age = timedelta(minutes=settings.LIFT["SNAPSHOT_LINK_MINUTES"])
    try:
        claims = signing.TimestampSigner(salt=_SALT).unsign_object(token, max_age=max_age)
    except signing.SignatureExpired:
        raise _refused("expired") from None
    except signing.BadSignature:
        raise _refused("not valid") from None
    if not isinstance(claims, dict) or claims.get("snapshot") != snapshot_id:
        raise _refused("for another snapshot")
    user = get_user_model().objects.filter(pk=claims.get("user"), is_active=True).first()
    if user is None or not is_admin(user):
        raise _refused("from someone who may no longer download snapshots")
    snapshot = Snapshot.objects.filter(pk=snapshot_id).first()
    if snapshot is None:
        raise _refused("for a snapshot that no longer exists")
    return snapshot
