"""Small helpers for kubesim tests: an official-client ApiClient per kubeconfig and raw GETs through it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from kubernetes import client, config

TABLE = "application/json;as=Table;g=meta.k8s.io;v=v1"


def api_client(kubeconfig: Path) -> client.ApiClient:
    return config.new_client_from_config(config_file=str(kubeconfig))


def raw_get(
    api: client.ApiClient,
    path: str,
    accept: str = "application/json",
    query: list[tuple[str, Any]] | None = None,
) -> tuple[int, Any]:
    """A GET through the client's own call_api (auth, TLS and all), decoded as JSON."""
    method, url, headers, _body, _post = api.param_serialize(
        "GET", path, query_params=query or [], header_params={"Accept": accept}, auth_settings=["BearerToken"]
    )
    resp = api.call_api(method, url, headers)
    resp.read()
    return resp.status, json.loads(resp.data or b"null")
