# The worker image: CUDA torch and the ML stack, for GPU and CPU job queues.
FROM pytorch/pytorch:2.7.1-cuda12.6-cudnn9-runtime
RUN apt-get update && apt-get install -y --no-install-recommends ffmpeg && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml constraints.txt ./
COPY lift ./lift
COPY annotation ./annotation
COPY alignment ./alignment
COPY manage.py ./
# The image's own CUDA torch stays; everything else follows the constraints.
RUN grep -v -E '^torch==' constraints.txt > /tmp/worker-constraints.txt \
    && pip install --no-cache-dir -c /tmp/worker-constraints.txt '.[ml,s3]'
ENV DJANGO_SETTINGS_MODULE=lift.settings.production
