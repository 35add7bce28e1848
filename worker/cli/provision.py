"""``nodewatch cluster kubeconfig-for --context CTX``: a read-only identity in a cluster and its kubeconfig.

A shell over worker/clusters/provision.py: with the operator's kubeconfig, create (or update) the ServiceAccount,
read-only ClusterRole and binding and token Secret of ``deploy/kubernetes/watched`` in the cluster of CTX, then
write a kubeconfig with that token — to ``--output FILE``, to the clusters directory, or with
``--store-as-secret`` straight into the hub as a cluster Secret (what ``cluster add`` would write). The token is
never printed; the file is written mode 0600 (a credential: docs/deploy.md says how containers read it).
"""

from __future__ import annotations

import argparse
import os
import re
from pathlib import Path
from typing import Any

from worker import clusters
from worker.cli import common, durations
from worker.clusters import kubeconfig, provision, secrets


def _name(args: argparse.Namespace) -> str:
    name = args.name or re.sub(r"[^a-z0-9._-]+", "-", args.context.lower()).strip("-._")
    if not secrets.NAME_RE.fullmatch(name):
        raise common.CliError(
            f"cluster name {name!r}: give --name, a lowercase DNS-style name (a-z, 0-9, '-', '.', '_')",
            common.EXIT_CONFIG,
        )
    return name


def write_private(path: Path, text: str) -> None:
    """Atomically, mode 0600: a reader never sees half a kubeconfig, and only its owner reads it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    tmp.replace(path)


def cmd_kubeconfig_for(args: argparse.Namespace) -> int:
    cfg = common.load_config(args)
    name = _name(args)
    directory = clusters.clusters_dir(cfg, args.clusters_dir)
    if args.store_as_secret and args.output:
        raise common.CliError("give --output FILE or --store-as-secret, not both", common.EXIT_CONFIG)
    if args.store_as_secret and not cfg.hub.enabled:
        raise common.CliError(
            "--store-as-secret needs the hub (hub.secrets / hub.kubeconfig in the config)", common.EXIT_CONFIG
        )
    target = Path(args.output) if args.output else None
    if not args.store_as_secret and target is None:
        if not directory:
            raise common.CliError(
                "where to? give --output FILE, --store-as-secret, or --clusters-dir / clustersDir",
                common.EXIT_CONFIG,
            )
        target = Path(directory) / f"{name}.yaml"
    try:
        api = provision.admin_client(args.kubeconfig, args.context)
        worker = provision.Provisioner(api, args.context, cfg.collect.request_timeout)
        for line in worker.apply(provision.Identity(args.namespace, args.kubelet_proxy)):
            print(f"  {line}")
        token, ca_pem = worker.token(args.namespace, args.wait)
        text = provision.kubeconfig_text(api, name, token, ca_pem)
    except (clusters.ClusterConfigError, provision.ProvisionError) as err:
        raise common.CliError(str(err), common.EXIT_UNAVAILABLE) from None
    # what is stored passes the checks `cluster add` makes: inline credentials, no plugin
    data = kubeconfig.parse(name, text)
    kubeconfig.check_credentials(name, data, local_files=False)
    if args.store_as_secret:
        ns = secrets.namespace(cfg.hub)
        body = secrets.secret_body(name, text, None, ns)
        try:
            done = secrets.write_secret(cfg.hub, cfg.allow_exec_plugins, body)
        except clusters.ClusterSourceError as err:
            raise common.CliError(str(err), common.EXIT_UNAVAILABLE) from None
        where = f"hub Secret {ns}/{body['metadata']['name']} {done}"
    else:
        assert target is not None
        write_private(target, text)
        where = f"kubeconfig written to {target} (mode 0600)"
    print(
        f"cluster {name}: {where}; read-only identity {args.namespace}/{provision.NAME} in context {args.context}"
    )
    for w in kubeconfig.warnings(name, data, None):
        print(f"  warning: {w}")
    return 0


def add_parser(sub: Any, parents: list[argparse.ArgumentParser]) -> None:
    k = sub.add_parser(
        "kubeconfig-for",
        parents=parents,
        help="create a read-only identity in a cluster (ServiceAccount, ClusterRole, token) and write its kubeconfig",
    )
    k.add_argument(
        "--context", required=True, help="the context of your own kubeconfig that reaches the cluster"
    )
    k.add_argument("--kubeconfig", help="your kubeconfig (default: $KUBECONFIG, else ~/.kube/config)")
    k.add_argument("--name", help="the cluster's name in nodewatch (default: the context's, made DNS-safe)")
    k.add_argument("--namespace", default="kube-system", help="where the ServiceAccount and its token live")
    k.add_argument(
        "--kubelet-proxy",
        action="store_true",
        help="also grant nodes/proxy (disk figures, kubelet configz); sensitive: docs/deploy.md",
    )
    k.add_argument("--output", "-O", help="write the kubeconfig here (default: the clusters directory)")
    k.add_argument("--store-as-secret", action="store_true", help="store it in the hub as a cluster Secret")
    k.add_argument(
        "--wait", type=durations.flag(bare="s"), default=30.0, help="how long to wait for the token (30s)"
    )
    k.set_defaults(func=cmd_kubeconfig_for)
