# The simulators for the compose demo (kubesim, chatsim): test doubles, never in the nodewatch image. In a venv,
# like the nodewatch image, so that any BASE with python3 and its venv module builds it (.ci/image's too).
ARG BASE=python:3.11-slim
FROM ${BASE}
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PATH=/opt/sim/bin:$PATH
WORKDIR /src
COPY kubesim ./kubesim
COPY chatsim ./chatsim
# /clusters owned by 10001: a new named volume mounted there takes this ownership, so kubesim (10001) can write its
# kubeconfigs (mode 0600) and nodewatch's containers (10001 by default) can read them
RUN python3 -m venv /opt/sim && /opt/sim/bin/pip install ./kubesim ./chatsim \
 && useradd --uid 10001 --user-group --no-create-home nodewatch \
 && mkdir /clusters && chown 10001:10001 /clusters
USER 10001
