"""The session engine (SESSION_ENGINE = "annotation.sessions"): Django's database sessions, each row also
naming its user (`UserSession.user`), so all of a user's browser sessions can be ended at once."""
from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore

from .models import UserSession


class SessionStore(DatabaseSessionStore):
    @classmethod
    def get_model_class(cls):
        return UserSession

    def create_model_instance(self, data):
        session = super().create_model_instance(data)
        user_id = data.get("_auth_user_id")  # set by login(), a string
        session.user_id = int(user_id) if user_id is not None and str(user_id).isdigit() else None
        return session
