# The simulators for the compose demo (kubesim, chatsim): test doubles, never in the nodewatch image.
ARG BASE=python:3.11-slim
FROM ${BASE}
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
COPY kubesim ./kubesim
COPY chatsim ./chatsim
RUN pip install ./kubesim ./chatsim && useradd --uid 10001 --user-group --no-create-home nodewatch
USER 10001
