"""Kubeconfig handling: parse, refuse command-running plugins and credential files, build and cache API clients.

A kubeconfig comes as a file path (config list, directory) or as text held in memory (a Secret). It is parsed
here and nowhere else; error messages name the cluster, the kubeconfig entry and the field, never a token, a
certificate or the content of a file.

Credentials read from files on the worker (``tokenFile``, ``client-certificate``, ``client-key``,
``certificate-authority``) are refused unless the caller says the kubeconfig is the operator's own
(``local_files``: a cluster listed in the config file with ``allowLocalCredentialFiles: true``, or the hub's own
kubeconfig): otherwise a Secret or a clusters-dir file naming ``/var/run/secrets/.../token`` and an attacker's
``server`` would send the hub's service-account token there.
"""

from __future__ import annotations

import copy
import hashlib
import os
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import urllib3
import yaml
from kubernetes import client as k8s_client
from kubernetes import config as k8s_config


class ClusterConfigError(Exception):
    """This cluster cannot be used as configured; the message says why and holds no secret."""


PLUGINS = ("exec", "auth-provider")
# fields naming a file on the worker, per kubeconfig section; their inline forms are <field>-data (token for tokenFile)
FILE_FIELDS = {
    "clusters": ("certificate-authority",),
    "users": ("tokenFile", "client-certificate", "client-key"),
}
INLINE_FIELDS = "token, client-certificate-data, client-key-data, certificate-authority-data"
TOKEN_FILE_MAX = 64 * 1024  # a service-account token is ~1 KB; a bigger "token file" is something else


def parse(name: str, text: str) -> dict[str, Any]:
    try:
        data = yaml.safe_load(text)
    except (yaml.YAMLError, ValueError, RecursionError):
        # ValueError: a timestamp-shaped scalar that is no date ("2001-13-01"); RecursionError: "[[[[…" nested
        # deeper than the parser's recursion
        raise ClusterConfigError(f"cluster {name}: kubeconfig is not valid YAML") from None
    if not isinstance(data, dict) or not data.get("clusters"):
        raise ClusterConfigError(f"cluster {name}: kubeconfig has no clusters")
    return data


def read_file(name: str, path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        reason = getattr(err, "strerror", None) or "not UTF-8 text"
        raise ClusterConfigError(f"cluster {name}: cannot read kubeconfig {path}: {reason}") from None


def _named(data: Mapping[str, Any], section: str, wanted: object) -> Mapping[str, Any]:
    for name, inner in _entries(data, section):
        if name == wanted:
            return inner
    return {}


def active(data: Mapping[str, Any], context: str | None) -> tuple[str, Mapping[str, Any], Mapping[str, Any]]:
    """(context name, its cluster entry, its user entry) — empty mappings where the kubeconfig lacks them or
    has them in another shape."""
    ctx_name = context or str(data.get("current-context") or "")
    ctx = _named(data, "contexts", ctx_name)
    contexts = list(_entries(data, "contexts"))
    if not ctx and not context and len(contexts) == 1:
        ctx_name, ctx = contexts[0]
    return ctx_name, _named(data, "clusters", ctx.get("cluster")), _named(data, "users", ctx.get("user"))


def _entries(data: Mapping[str, Any], section: str) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """(entry name, inner mapping) of each well-formed entry of ``clusters``/``users``/``contexts``."""
    entries = data.get(section)
    for entry in entries if isinstance(entries, list) else []:
        if isinstance(entry, Mapping):
            inner = entry.get(section[:-1])
            yield str(entry.get("name", "?")), inner if isinstance(inner, Mapping) else {}


def check_plugins(name: str, data: Mapping[str, Any], allow_exec: bool) -> None:
    """Refuse exec/auth-provider users (they run commands on the worker) unless allowExecPlugins is set."""
    if allow_exec:
        return
    for user, u in _entries(data, "users"):
        for plugin in PLUGINS:
            if plugin in u:
                raise ClusterConfigError(
                    f"cluster {name}: kubeconfig user '{user}' uses an {plugin} plugin, "
                    "which would run a command on the worker; refused (set allowExecPlugins: true to allow)"
                )


def header_problem(value: object) -> str | None:
    """Why this value cannot go into an HTTP header as it is (None: it can). Never says the value."""
    if not isinstance(value, str):
        return "is not a string"
    if "\n" in value or "\r" in value:
        return "contains a line break"
    if any(not (" " <= ch <= "~") for ch in value):
        return "contains a non-printable or non-ASCII character"
    return None


def check_credentials(name: str, data: Mapping[str, Any], local_files: bool) -> None:
    """Refuse credentials read from files on the worker (unless ``local_files``) and tokens unfit for a header.

    Every entry is checked, not only the active context's: a kubeconfig is accepted or refused as a whole, like
    ``check_plugins`` does, so switching its context cannot bring a refused entry into use.
    """
    if not local_files:
        for section, fields in FILE_FIELDS.items():
            for entry, inner in _entries(data, section):
                for f in fields:
                    if f in inner:
                        raise ClusterConfigError(
                            f"cluster {name}: kubeconfig {section[:-1]} '{entry}' sets {f}, a credential read "
                            f"from a file on the worker; refused (give credentials inline: {INLINE_FIELDS}; "
                            "allowLocalCredentialFiles: true allows files for clusters listed in the config file "
                            "only)"
                        )
    for entry, u in _entries(data, "users"):
        for f in ("token", "username", "password"):
            if f in u and (problem := header_problem(u[f])):
                raise ClusterConfigError(f"cluster {name}: kubeconfig user '{entry}': {f} {problem}; refused")


def warnings(name: str, data: Mapping[str, Any], context: str | None) -> list[str]:
    """What a human should know about this kubeconfig (shown by `cluster list` and the dashboard)."""
    out = []
    ctx_name, cluster, user = active(data, context)
    if context and not _named(data, "contexts", context):
        out.append(f"context '{context}' not found in kubeconfig")
    if cluster.get("insecure-skip-tls-verify"):
        out.append("insecure-skip-tls-verify: the API server's certificate is not checked")
    if str(cluster.get("server", "")).startswith("http://"):
        out.append("plain http: the token travels unencrypted")
    for plugin in PLUGINS:
        if plugin in user:
            out.append(f"uses an {plugin} plugin (runs a command on the worker)")
    return out


_cache: dict[str, tuple[str, k8s_client.ApiClient]] = {}
_cache_lock = threading.Lock()


def digest(text: str, context: str | None, allow_exec: bool, local_files: bool = False) -> str:
    return hashlib.sha256(f"{text}\0{context or ''}\0{allow_exec}\0{local_files}".encode()).hexdigest()


def _inline_token_file(name: str, data: dict[str, Any], context: str | None, base_path: str | None) -> None:
    """Read the active user's tokenFile here, trimmed as kubectl does, and put it inline (``token``).

    The client library reads it untrimmed: a file ending in a newline became an invalid header whose error
    message printed the file. Here a failure says which field and why, never the content.
    """
    _, _, user = active(data, context)
    if "tokenFile" not in user or user.get("token"):
        return  # an inline token wins over the file, as in the client library
    path = os.path.join(base_path or "", str(user["tokenFile"]))
    try:
        with open(path, "rb") as handle:
            raw = handle.read(TOKEN_FILE_MAX + 1)
    except OSError as err:
        raise ClusterConfigError(f"cluster {name}: cannot read tokenFile {path}: {err.strerror}") from None
    if len(raw) > TOKEN_FILE_MAX:
        raise ClusterConfigError(
            f"cluster {name}: tokenFile {path} is larger than {TOKEN_FILE_MAX} bytes; refused"
        )
    try:
        token = raw.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise ClusterConfigError(f"cluster {name}: tokenFile {path} is not UTF-8 text; refused") from None
    if problem := header_problem(token):
        raise ClusterConfigError(f"cluster {name}: the token in tokenFile {path} {problem}; refused")
    if isinstance(user, dict):  # the entry inside ``data``, a deep copy of the parsed text
        user["token"] = token
        del user["tokenFile"]


def build(
    name: str,
    text: str,
    context: str | None,
    allow_exec: bool,
    base_path: str | None = None,
    cache_as: str | None = None,
    local_files: bool = False,
) -> k8s_client.ApiClient:
    """A client for this kubeconfig text, cached per process by (name, digest): a changed kubeconfig rebuilds.

    ``local_files``: the kubeconfig may read credentials from files on this host (see the module docstring).
    """
    key = digest(text, context, allow_exec, local_files)
    slot = cache_as or name
    with _cache_lock:
        hit = _cache.get(slot)
        if hit and hit[0] == key:
            return hit[1]
    data = parse(name, text)
    check_plugins(name, data, allow_exec)
    check_credentials(name, data, local_files)
    if local_files:
        data = copy.deepcopy(data)
        _inline_token_file(name, data, context, base_path)
    cfg = k8s_client.Configuration()
    try:
        loader = k8s_config.kube_config.KubeConfigLoader(
            config_dict=data, active_context=context, config_base_path=base_path or ""
        )
        loader.load_and_set(cfg)
    except (k8s_config.ConfigException, KeyError, ValueError, TypeError, AttributeError) as err:
        # the loader's messages name contexts, keys and files, never credentials
        raise ClusterConfigError(f"cluster {name}: invalid kubeconfig: {type(err).__name__}: {err}") from None
    for header, value in cfg.api_key.items():
        # the last guard: whatever the loader made (an exec plugin's token, say) must be a valid header
        if problem := header_problem(value):
            raise ClusterConfigError(f"cluster {name}: the {header} credential {problem}; refused")
    _bounded(cfg)
    api = k8s_client.ApiClient(cfg)
    with _cache_lock:
        _cache[slot] = (key, api)
    return api


def _bounded(cfg: k8s_client.Configuration) -> None:
    """Client settings that keep one cluster's requests inside the scan's budget: a failed connect is retried
    twice, but a request that was sent and timed out is not retried by urllib3 (a hung API server would cost
    four timeouts per request); enough pooled connections for the concurrent kubelet reads."""
    cfg.retries = urllib3.Retry(total=2, connect=2, read=0, redirect=0, status=0, other=0)
    cfg.connection_pool_maxsize = 16


def in_cluster(name: str) -> k8s_client.ApiClient:
    with _cache_lock:
        hit = _cache.get(name)
        if hit and hit[0] == "in-cluster":
            return hit[1]
    cfg = k8s_client.Configuration()
    try:
        k8s_config.load_incluster_config(client_configuration=cfg)
    except k8s_config.ConfigException as err:
        raise ClusterConfigError(f"cluster {name}: no kubeconfig given and not in a pod ({err})") from None
    _bounded(cfg)
    api = k8s_client.ApiClient(cfg)
    with _cache_lock:
        _cache[name] = ("in-cluster", api)
    return api
