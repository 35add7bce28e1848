# The nodewatch image: one image for worker, beat, Flower and the dashboard (the command picks the role).
# Product only: the simulators (kubesim, chatsim) are test doubles and stay out (deploy/compose/sim.Dockerfile).
# BASE: any Debian-like image with Python 3.11+ and its venv module; CI passes a base it made with mmdebstrap
# (.ci/image), users get the official slim image. Build: `docker build -t nodewatch:0.1.0 .` (or buildah bud).
ARG BASE=python:3.11-slim

FROM ${BASE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md beat_schedule.py ./
COPY worker ./worker
COPY tasks ./tasks
# byte-compiled here: the running container's root filesystem is read-only
RUN python3 -m venv /opt/nodewatch \
 && /opt/nodewatch/bin/pip install --no-cache-dir . \
 && /opt/nodewatch/bin/python -m compileall -q /opt/nodewatch/lib

FROM ${BASE}
# no NODEWATCH_CONFIG here: compose and the manifests set it (/etc/nodewatch/config/config.yaml); without it
# every setting is a default, so `docker run IMAGE nodewatch scan --kubeconfig F --once` works on its own
ENV PATH=/opt/nodewatch/bin:$PATH PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
COPY --from=build /opt/nodewatch /opt/nodewatch
# uid/gid 10001, no home, no shell; config in /etc/nodewatch/config, kubeconfigs in /etc/nodewatch/clusters
RUN groupadd --gid 10001 nodewatch \
 && useradd --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin nodewatch \
 && mkdir -p /etc/nodewatch/config /etc/nodewatch/clusters
USER 10001:10001
WORKDIR /tmp
# the config loads and Redis answers; the worker's probe (its consumer loop) is `nodewatch health --worker`
HEALTHCHECK --interval=30s --timeout=15s --start-period=30s --retries=3 CMD ["nodewatch", "health"]
CMD ["nodewatch", "worker"]
