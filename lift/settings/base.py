"""Settings shared by every environment; everything that differs comes from the environment."""
import os
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(os.environ.get("LIFT_VAR_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


# Only local/test settings ship a default; production refuses it (see production.py).
INSECURE_DEFAULT_SECRET_KEY = "insecure-dev-key-change-me"
SECRET_KEY = os.environ.get("SECRET_KEY", INSECURE_DEFAULT_SECRET_KEY)
DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")
CSRF_FAILURE_VIEW = "lift.api_errors.csrf_failure"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "django_celery_beat",
    "annotation",
    "alignment",
]

# Database sessions that know their user: revoking a user's access ends their browser sessions too.
SESSION_ENGINE = "annotation.sessions"

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "lift.urls"
WSGI_APPLICATION = "lift.wsgi.application"
ASGI_APPLICATION = "lift.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]

# The embedded default is an SQLite file so the demo needs no server; tests and production
# set DATABASE_URL to PostgreSQL.
DEFAULT_DATABASE_URL = f"sqlite:///{VAR_DIR / 'lift.sqlite3'}"
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL), conn_max_age=60
    )
}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # The web process and the worker share the file: wait for locks instead of failing.
    # IMMEDIATE transactions take the write lock up front, so two leases never read the same item.
    DATABASES["default"].setdefault("OPTIONS", {}).update(timeout=30, transaction_mode="IMMEDIATE")
# The annotation hot path's statements are prepared once per connection (lift/prepared.py); 0 behind a
# transaction-mode pooler (PgBouncer's), which does not keep a session's prepared statements.
LIFT_PREPARED_STATEMENTS = env_bool("LIFT_PREPARED_STATEMENTS", True)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
FRONTEND_DIST = BASE_DIR / "frontend" / "dist"
STATICFILES_DIRS = [("app", FRONTEND_DIST)] if FRONTEND_DIST.exists() else []

# Media: local files by default, an S3-compatible bucket when LIFT_S3_BUCKET is set.
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", VAR_DIR / "media"))
S3_BUCKET = os.environ.get("LIFT_S3_BUCKET", "")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
if S3_BUCKET:
    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": S3_BUCKET,
            "endpoint_url": os.environ.get("LIFT_S3_ENDPOINT_URL") or None,
            "querystring_auth": True,
            "querystring_expire": 600,
        },
    }
# How protected media leaves the server: "django" streams it (with Range support),
# "nginx" hands it to nginx with X-Accel-Redirect under this internal prefix.
MEDIA_DELIVERY = os.environ.get("LIFT_MEDIA_DELIVERY", "django")
MEDIA_ACCEL_PREFIX = os.environ.get("LIFT_MEDIA_ACCEL_PREFIX", "/protected-media/")

REST_FRAMEWORK = {
    # Token first: unauthenticated requests then get 401 with WWW-Authenticate, not 403.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "annotation.authentication.TokenWithRolesAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "lift.schema.AutoSchema",
    "EXCEPTION_HANDLER": "lift.api_errors.exception_handler",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "lift.negotiation.JsonFirstNegotiation",
    "DEFAULT_PARSER_CLASSES": [
        "rest_framework.parsers.JSONParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    # Per user (and per address when anonymous); sign-in has its own, stricter scope. See lift/throttling.py.
    "DEFAULT_THROTTLE_CLASSES": ["lift.throttling.AnonThrottle", "lift.throttling.UserThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "anon": os.environ.get("LIFT_THROTTLE_ANON", "300/min"),
        "user": os.environ.get("LIFT_THROTTLE_USER", "3000/min"),
        "login": os.environ.get("LIFT_THROTTLE_LOGIN", "10/min"),
    },
}
SPECTACULAR_SETTINGS = {
    "TITLE": "LiFT Studio API",
    "DESCRIPTION": "Human-feedback alignment of text-to-video models: annotation, snapshots, jobs, models.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # After the default enum hook: answers list every field as required, and each job kind's parameters
    # are described.
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums", "lift.schema.output_fields_required",
                             "alignment.schema.job_params_schemas"],
    "ENUM_NAME_OVERRIDES": {
        "JobKindEnum": "alignment.models.Job.Kind",
        "ModelKindEnum": "alignment.models.ModelVersion.Kind",
        "ReviewStateEnum": "annotation.models.Annotation.ReviewState",
        "AnnotationStateEnum": "annotation.models.Annotation.State",
        "CampaignKindEnum": "annotation.models.Campaign.Kind",
    },
}

# Celery: Redis in production and tests; the demo uses the broker-less filesystem transport.
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", REDIS_URL)
# The cache holds the throttles' counters, shared by every web worker (the demo without Redis: local.py).
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                "LOCATION": os.environ.get("LIFT_CACHE_URL", REDIS_URL), "KEY_PREFIX": "lift"}
}
CELERY_RESULT_BACKEND = None  # job state lives in Job rows, not in a result backend
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_DEFAULT_QUEUE = "cpu"
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_WORKER_PREFETCH_MULTIPLIER = 1  # a GPU worker holds one task, not a backlog
# Longer than the longest job (training runs for hours), or Redis redelivers a running job.
LONGEST_JOB_SECONDS = int(os.environ.get("LIFT_LONGEST_JOB_SECONDS", 12 * 3600))
# The same timeout is how long a job of a worker that died (SIGKILL, lost machine) waits before Redis
# hands it to another worker; bench/load_faults.py shortens it to watch that happen.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": int(os.environ.get("LIFT_BROKER_VISIBILITY_TIMEOUT", LONGEST_JOB_SECONDS + 3600)),
}
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# Static beat entries (the DatabaseScheduler copies them into its tables); the retrain policy's check is a
# PeriodicTask written from the policy when an admin saves it.
CELERY_BEAT_SCHEDULE = {
    "reap-stale-jobs": {"task": "alignment.reap_stale_jobs", "schedule": 60.0, "options": {"queue": "cpu"}},
}

LIFT = {
    # Where the worker keeps models it builds or downloads (tiny models for the demo and tests).
    "MODELS_DIR": Path(os.environ.get("LIFT_MODELS_DIR", VAR_DIR / "models")),
    "JOBS_DIR": Path(os.environ.get("LIFT_JOBS_DIR", VAR_DIR / "jobs")),
    "MAX_UPLOAD_BYTES": int(os.environ.get("LIFT_MAX_UPLOAD_BYTES", 512 * 1024 * 1024)),
    "MAX_VIDEO_SECONDS": float(os.environ.get("LIFT_MAX_VIDEO_SECONDS", 120)),
    # How long a snapshot download link (GET /api/snapshots/{id}/download-link/) stays valid.
    "SNAPSHOT_LINK_MINUTES": float(os.environ.get("LIFT_SNAPSHOT_LINK_MINUTES", 10)),
    # How prompts become captions: "template" (no model), or a causal LM's hub id or local path.
    "PROMPT_EXPANDER": os.environ.get("LIFT_PROMPT_EXPANDER", "template"),
    # A running job writes heartbeat_at this often; one silent for STALE_AFTER is re-queued by the reaper,
    # at most JOB_MAX_ATTEMPTS times in all.
    "HEARTBEAT_SECONDS": float(os.environ.get("LIFT_HEARTBEAT_SECONDS", 30)),
    "STALE_AFTER_SECONDS": float(os.environ.get("LIFT_STALE_AFTER_SECONDS", 300)),
    "JOB_MAX_ATTEMPTS": int(os.environ.get("LIFT_JOB_MAX_ATTEMPTS", 3)),
    # Processes one training job runs on: "auto" = every GPU the worker sees (CUDA_VISIBLE_DEVICES), 1 without
    # one. Above 1 the job runs as a torchrun child process group (alignment/engine/launch.py).
    "TRAIN_PROCESSES": os.environ.get("LIFT_TRAIN_PROCESSES", "auto"),
    # An aligned generator is promoted only when its held-out reward rose by more than this many standard
    # errors of the difference (0: any rise), so a loop does not promote on the noise of a few videos.
    "PROMOTION_MIN_SE": float(os.environ.get("LIFT_PROMOTION_MIN_SE", 2)),
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
}
