# The web image: Django, DRF, Celery client. No torch (the ml extra is not installed).
FROM node:20-bookworm-slim AS frontend
WORKDIR /src/frontend
COPY frontend/package.json frontend/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY frontend/ ./
RUN npm run build

FROM python:3.11-slim-bookworm
RUN apt-get update && apt-get install -y --no-install-recommends ffmpeg && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml constraints.txt ./
COPY lift ./lift
COPY annotation ./annotation
COPY alignment ./alignment
COPY manage.py ./
RUN grep -v -E '^(torch|nvidia-|triton)' constraints.txt > /tmp/web-constraints.txt \
    && pip install --no-cache-dir -c /tmp/web-constraints.txt '.[s3]'
COPY --from=frontend /src/frontend/dist ./frontend/dist
ENV DJANGO_SETTINGS_MODULE=lift.settings.production
RUN SECRET_KEY=build-only-collectstatic-key-not-used-at-runtime-0123456789 python manage.py collectstatic --noinput
EXPOSE 8000
