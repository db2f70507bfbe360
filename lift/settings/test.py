"""Tests run against real PostgreSQL and Redis (DATABASE_URL / REDIS_URL, localhost by default)."""
import os
from pathlib import Path

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/lift")
# A Redis database of its own, so tests never read another app's queues.
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/15")

from .base import *  # noqa: E402,F401,F403
from .base import DATABASES, VAR_DIR  # noqa: E402

import dj_database_url  # noqa: E402

DATABASES["default"] = dj_database_url.parse(os.environ["DATABASE_URL"])
DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # speed only; production keeps the default
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", VAR_DIR / "test-media"))
# Tests and benches make many calls as one user; tests/security/test_web_security.py lowers a rate to prove it.
REST_FRAMEWORK = {**REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"anon": "100000/min", "user": "100000/min",  # noqa: F405
                                                              "login": "100000/min"}}
