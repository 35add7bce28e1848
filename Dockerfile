# The nodewatch image: one image for worker, beat and flower (the command picks the role). The simulators
# (kubesim, chatsim) are test doubles and stay out of it.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY pyproject.toml README.md beat_schedule.py ./
COPY worker ./worker
COPY tasks ./tasks
RUN pip install . && useradd --uid 10001 --no-create-home nodewatch
USER 10001
CMD ["nodewatch", "worker"]
