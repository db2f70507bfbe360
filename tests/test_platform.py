"""Settings, deployment files and import boundaries."""
import os
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def _clean_env(**env) -> dict:
    # The browser tests allow sync ORM calls under Playwright's loop; a deployment never would.
    return {**{k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"}, **env}


def _run_python(code: str, **env) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, env=_clean_env(**env))


def test_production_refuses_the_default_secret_key_and_debug():
    code = "import django; django.setup()"
    default_key = _run_python(code, DJANGO_SETTINGS_MODULE="lift.settings.production", SECRET_KEY="")
    assert default_key.returncode != 0 and "SECRET_KEY" in default_key.stderr
    debug_on = _run_python(code, DJANGO_SETTINGS_MODULE="lift.settings.production", SECRET_KEY="k" * 60, DEBUG="1")
    assert debug_on.returncode != 0 and "DEBUG" in debug_on.stderr


def test_production_passes_the_deploy_check():
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"], cwd=ROOT, capture_output=True,
        text=True, env=_clean_env(DJANGO_SETTINGS_MODULE="lift.settings.production",
                                  SECRET_KEY="a-long-random-production-secret-key-0123456789-abcdefghijkl"),
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_web_side_never_imports_torch():
    code = (
        "import django, sys; django.setup();"
        "import lift.urls, annotation.apis_campaigns, alignment.apis_jobs, alignment.services.jobs;"
        "from django.test import Client;"
        "alignment.services.jobs.job_kinds();"
        "from drf_spectacular.generators import SchemaGenerator;"
        "SchemaGenerator().get_schema(request=None, public=True);"  # every kind's parameter help
        "from alignment.services.critic_training import train_config;"
        "train_config({'backbone': 'b', 'eval_every': 5, 'checkpoint_every': 5});"
        "bad = [m for m in ('torch', 'diffusers', 'transformers') if m in sys.modules];"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = _run_python(code, DJANGO_SETTINGS_MODULE="lift.settings.test")
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_engine_never_imports_django():
    offenders = [
        str(path) for path in (ROOT / "alignment" / "engine").rglob("*.py")
        if any(line.lstrip().startswith(("import django", "from django")) for line in path.read_text().splitlines())
    ]
    assert offenders == []


def test_compose_file_describes_the_deployment():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert {"postgres", "redis", "web", "worker-gpu", "worker-cpu", "beat"} <= set(services)
    assert "healthcheck" in services["postgres"] and "pgdata:/var/lib/postgresql/data" in services["postgres"]["volumes"]
    assert "gunicorn" in " ".join(services["web"]["command"])
    gpu = services["worker-gpu"]
    assert gpu["command"][gpu["command"].index("-Q") + 1] == "gpu"
    assert gpu["command"][gpu["command"].index("--concurrency") + 1] == "1"
    assert gpu["deploy"]["resources"]["reservations"]["devices"][0]["driver"] == "nvidia"
    cpu = services["worker-cpu"]
    assert cpu["command"][cpu["command"].index("-Q") + 1] == "cpu"
    assert "beat" in services["beat"]["command"]
    # Every variable the settings read is set for the app services, and the Dockerfiles exist.
    for name in ("web", "worker-gpu", "worker-cpu", "beat"):
        env = services[name]["environment"]
        assert {"DATABASE_URL", "REDIS_URL", "SECRET_KEY", "ALLOWED_HOSTS", "MEDIA_ROOT"} <= set(env)
        assert env["DJANGO_SETTINGS_MODULE"] == "lift.settings.production"
        assert (ROOT / services[name]["build"]["dockerfile"]).exists()
    base_settings = (ROOT / "lift" / "settings" / "base.py").read_text()
    for variable in ("DATABASE_URL", "REDIS_URL", "SECRET_KEY", "ALLOWED_HOSTS", "MEDIA_ROOT", "LIFT_S3_BUCKET"):
        assert f'"{variable}"' in base_settings
    web_dockerfile = (ROOT / "deploy" / "web.Dockerfile").read_text()
    assert "[ml" not in web_dockerfile  # the web image carries no torch


def test_openapi_schema_is_served(admin_client):
    response = admin_client.get("/api/schema/")
    assert response.status_code == 200 and b"/api/campaigns/{campaign_id}/next-task/" in response.content


def test_visibility_timeout_outlasts_the_longest_job(settings):
    assert settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"] > settings.LONGEST_JOB_SECONDS
    assert settings.CELERY_TASK_SERIALIZER == "json" and settings.CELERY_ACCEPT_CONTENT == ["json"]
