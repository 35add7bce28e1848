"""`python -m kubesim serve`: build the clusters, write kubeconfigs, print the ready line, serve until signalled."""

from __future__ import annotations

import argparse
import secrets
import signal
import ssl
import sys
import tempfile
import threading
from pathlib import Path
from types import FrameType

from kubesim import kubeconfig, scenario, tlsutil
from kubesim.clock import SimClock
from kubesim.cluster import Cluster
from kubesim.server import Server, Sim


def build_sim(spec: dict[str, object], speed: float, seed: int | None, start: str | None,
              bookmark_s: float = 2.0, control_token: str | None = None,
              page_cache_bytes: int = 512 << 20) -> Sim:  # fmt: skip
    """The clusters of a normalised scenario on one clock (also used in-process by the benchmark)."""
    clock = SimClock(speed=speed, start_epoch=scenario.start_epoch(start or spec.get("start")))
    run_seed = int(seed if seed is not None else spec.get("seed", 1))  # type: ignore[call-overload]
    clusters = {
        c["name"]: Cluster(c["name"], c, clock, run_seed, secrets.token_urlsafe(24))
        for c in spec["clusters"]  # type: ignore[attr-defined]
    }
    return Sim(clock, clusters, control_token or secrets.token_urlsafe(24), bookmark_s, page_cache_bytes)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kubesim", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve simulated clusters")
    serve.add_argument("--scenario", help="scenario YAML, or the name of one in kubesim/scenarios")
    serve.add_argument("--clusters", type=int, default=1)
    serve.add_argument("--nodes", type=int, default=3)
    serve.add_argument("--pods-per-node", type=int, default=10)
    serve.add_argument("--provider", default="gke", choices=["gke", "eks", "aks", "kind"])
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=0)
    serve.add_argument("--tls", action="store_true")
    serve.add_argument(
        "--speed",
        type=float,
        default=None,
        help="scenario seconds per real second (0: manual; default: the scenario's `speed:`, else 1)",
    )
    serve.add_argument("--seed", type=int, default=None)
    serve.add_argument("--start", default=None, help="sim time at t=0 (ISO 8601); default: now")
    serve.add_argument(
        "--bookmark-interval", type=float, default=2.0, help="real seconds between watch BOOKMARKs"
    )
    serve.add_argument(
        "--page-cache-mb", type=int, default=512, help="bytes of finished list pages kept (MB; 0: none)"
    )
    serve.add_argument("--kubeconfig-dir", required=True, type=Path)
    serve.add_argument(
        "--advertise-host",
        help="host name in the kubeconfigs' server URL (default: --host; compose: the service)",
    )
    args = parser.parse_args(argv)

    spec = scenario.load(args.scenario) if args.scenario else scenario.fleet(
        args.clusters, args.nodes, args.pods_per_node, provider=args.provider
    )  # fmt: skip
    sim = build_sim(
        spec,
        args.speed if args.speed is not None else float(spec.get("speed", 1.0)),  # type: ignore[arg-type]
        args.seed,
        args.start,
        args.bookmark_interval,
        page_cache_bytes=args.page_cache_mb << 20,
    )
    server = Server((args.host, args.port), sim)
    scheme = "http"
    ca_pem: bytes | None = None
    if args.tls:
        with tempfile.TemporaryDirectory(prefix="kubesim-tls-") as tmp:
            names = (
                "localhost",
                "127.0.0.1",
                args.host,
                *([args.advertise_host] if args.advertise_host else []),
            )
            ca, cert, key = tlsutil.make_ca_and_cert(Path(tmp), names)
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(cert, key)
            ca_pem = ca.read_bytes()
        server.socket = ctx.wrap_socket(server.socket, server_side=True)
        for c in sim.clusters.values():
            c.accounts.ca_pem = ca_pem  # what the token controller puts in ca.crt
        scheme = "https"
    host = args.advertise_host or (args.host if args.host not in ("0.0.0.0", "") else "127.0.0.1")
    base = f"{scheme}://{host}:{server.server_address[1]}"
    args.kubeconfig_dir.mkdir(parents=True, exist_ok=True)
    for name, cluster in sim.clusters.items():
        kubeconfig.write(
            args.kubeconfig_dir / f"{name}.yaml", name, f"{base}/clusters/{name}", cluster.token, ca_pem
        )

    def stop(signum: int, frame: FrameType | None) -> None:
        sim.stop()
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    sim.start()
    print(
        f"kubesim ready url={base} control={base}/_sim token={sim.control_token} clusters={len(sim.clusters)}",
        flush=True,
    )
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
