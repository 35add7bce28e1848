"""The dashboard in a real headless Chromium (Debian's, through Playwright's ``executable_path``), against a
kubesim-driven run: real scans (``pipeline.run_scan`` / ``scan_cluster``, the workers' own functions) over the
Kubernetes client into a real Redis, and ``nodewatch dashboard`` as its own process.

Each page shows what the scenario does (a NotReady node, a disk filling past its lines), a silence created
through the form moves the alert to silenced, the cluster page refreshes itself when a scan sees a new NotReady
node, and every page is saved as a screenshot under tests/artifacts/ (git-ignored; $NODEWATCH_TEST_ARTIFACTS
elsewhere). Without /usr/bin/chromium the test is skipped on a developer's machine and fails in CI, which
installs it (.ci/install-chromium)."""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
import requests

from tests.configs import immediate
from tests.conftest import ROOT, Proc
from worker import clusters, settings
from worker.pipeline import run_scan, scan_cluster
from worker.state.store import Stores

pytestmark = pytest.mark.slow

CHROMIUM = "/usr/bin/chromium"
TOKEN = "dashboard-test-token-5f1c0a9e"
CLUSTER, CALM_CLUSTER, DARK = "sim-1", "sim-2", "sim-3"
DOWN, DISK, CALM, LATER = (f"{CLUSTER}-pool-{i}" for i in (1, 2, 3, 4))
ARTIFACTS = Path(os.environ.get("NODEWATCH_TEST_ARTIFACTS", ROOT / "tests" / "artifacts"))


@pytest.fixture()
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} missing: .ci/run installs it with .ci/install-chromium")
        pytest.skip(f"{CHROMIUM} not installed (apt-get install chromium, or .ci/install-chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield b
        b.close()


@pytest.fixture()
def run(
    kubesim_factory: Callable[..., Any],
    redis_client: redis.Redis,
    write_config: Callable[..., Path],
) -> dict[str, Any]:
    """One cluster scanned for an hour: a NotReady node, a disk filling 0.9 points an hour (past its warning
    line, ~7 h from the kubelet's 90 %), the others calm; then one scan now for the scan record. The disk's two
    days before that are written with the history store's own ``record`` (worker/predict needs that much to
    tell a fill from a daily cycle's up-slope; two days of scans would take minutes here)."""
    sim = kubesim_factory(clusters=3, nodes=4, pods_per_node=2)
    for node in (DOWN, DISK, CALM, LATER):
        sim.control.set_node(CLUSTER, node, cpu=0.3, memory=0.4, disk=0.4, ready="True")
    sim.control.set_node(CLUSTER, DOWN, ready="False")
    sim.control.fault(DARK, "unauthorized")  # a second cluster's credentials are refused, a third is calm
    path = write_config(
        immediate({"language": "en", "thresholds": {"diskFor": 0}, "collect": {"diskStats": True},
                   "clusters": [{"name": c, "kubeconfig": str(sim.kubeconfigs[c]), "interval": 60}
                                for c in (CLUSTER, CALM_CLUSTER, DARK)]})
    )  # fmt: skip
    cfg = settings.load(str(path))
    stores = Stores(redis_client)
    spec = clusters.ClusterSpec(CLUSTER, 60, str(sim.kubeconfigs[CLUSTER]))
    now = time.time()

    def fill(t: float) -> float:
        return 40.0 + (t - (now - 48 * 3600)) / 3600 * 0.9 + 0.3 * math.sin(t / 700)

    for t in range(int(now - 48 * 3600), int(now - 3600), 300):
        stores.history.record(CLUSTER, t, {DISK: {"nodefs": fill(t)}})
    for i in range(60, 0, -1):  # a scan a minute for the last hour
        sim.control.set_node(CLUSTER, DISK, disk=fill(now - 60 * i) / 100)
        sim.control.advance(20)  # past metrics-server's next scrape
        assert run_scan(stores, cfg, spec, now - 60 * i).outcome == "ok"
    for name in (CLUSTER, CALM_CLUSTER, DARK):
        scan_cluster(stores, cfg, name, None)
    return {"sim": sim, "cfg": cfg, "path": path, "stores": stores}


def shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"dashboard-{name}.png"), full_page=True)


def test_each_page_shows_the_scenario_and_a_silence_moves_the_alert(
    run: dict[str, Any], browser: Any, nodewatch_proc: Callable[..., Proc]
) -> None:
    dash = nodewatch_proc("dashboard", "--port", "0", config=run["path"], ready="dashboard ready",
                          env={"NODEWATCH_DASHBOARD_TOKEN": TOKEN})  # fmt: skip
    base = dash.wait_for_line("dashboard ready").split("url=", 1)[1].removesuffix("/fleet")
    page = browser.new_page(viewport={"width": 1400, "height": 900})

    # no credential: the sign-in form, then the fleet
    page.goto(f"{base}/fleet")
    assert "/login" in page.url
    page.fill("input[name=token]", TOKEN)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/fleet")
    assert (
        page.locator(f"tr.cluster-row[data-cluster='{DARK}']").get_attribute("data-status") == "unreachable"
    )
    assert page.locator(f"tr.cluster-row[data-cluster='{CALM_CLUSTER}']").get_attribute("data-status") == "ok"
    assert page.locator("tr.cluster-row").first.get_attribute("data-cluster") == DARK  # worst first
    row = page.locator(f"tr.cluster-row[data-cluster='{CLUSTER}']")
    assert row.locator("td").nth(2).inner_text() == "3/4"  # one node not ready
    assert "critical" in row.inner_text()  # firing alerts by severity
    shot(page, "fleet")

    # the cluster: the NotReady node and the full disk in the table, the heatmap painted
    page.click(f"a[href='/cluster/{CLUSTER}']")
    down = page.locator(f"tr.node-row[data-node='{DOWN}']")
    assert "NotReady" in down.inner_text() and "node_not_ready" in down.inner_text()
    disk = page.locator(f"tr.node-row[data-node='{DISK}']")
    assert "disk_nodefs" in disk.inner_text()
    assert page.locator(".heatmap canvas").evaluate("c => c.width > 0 && c.height > 0")
    shot(page, "cluster")

    # the node: its disk chart rises through the lines, with its alerts
    page.click(f"a[href='/cluster/{CLUSTER}/node/{DISK}']")
    chart = page.locator("figure[data-metric=nodefs]")
    points = chart.locator("polyline.series").get_attribute("points") or ""
    assert len(points.split()) >= 50, points  # an hour of scans
    assert chart.locator("line.warn").count() == 1 and chart.locator("line.crit").count() == 1
    assert chart.locator("line.predicted").count() == 1  # worker/predict: the fill reaches the kubelet's line
    assert "predicted" in chart.locator("figcaption").inner_text()
    assert "disk_nodefs" in page.locator("#node-alerts").inner_text()
    shot(page, "node")

    # the alerts: silence the disk alert through the form
    page.goto(f"{base}/alerts")
    alert = page.locator(f"tr.alert-row[data-node='{DISK}'][data-rule='disk_nodefs']")
    assert alert.get_attribute("data-state") == "firing"
    alert.locator("a.silence").click()
    page.fill("#silence-form input[name=author]", "browser-test")
    page.fill("#silence-form input[name=comment]", "disk cleanup under way")
    page.click("#silence-form button[type=submit]")
    page.wait_for_selector("#done")
    alert = page.locator(f"tr.alert-row[data-node='{DISK}'][data-rule='disk_nodefs']")
    assert alert.get_attribute("data-state") == "silenced"
    assert "browser-test" in page.locator("#silences").inner_text()
    assert page.locator(f"tr.alert-row[data-node='{DOWN}']").first.get_attribute("data-state") == "firing"
    alert.locator("a.why").click()  # the why-not-paged story of that alert, as `alerts why` tells it
    assert "disk_nodefs is firing" in page.locator("#story").inner_text()
    shot(page, "alerts")

    # live refresh: a node goes NotReady, a scan sees it, the open cluster page shows it without a reload
    page.goto(f"{base}/cluster/{CLUSTER}")
    later = page.locator(f"tr.node-row[data-node='{LATER}']")
    assert later.get_attribute("data-ready") == "True"
    page.evaluate("window.__same_document = true")
    run["sim"].control.set_node(CLUSTER, LATER, ready="False")
    run["sim"].control.advance(20)
    scan_cluster(run["stores"], run["cfg"], CLUSTER, None)
    page.wait_for_selector(f"tr.node-row[data-node='{LATER}'][data-ready='False']", timeout=20_000)
    assert page.evaluate("window.__same_document === true")  # refreshed in place, not reloaded

    # in Chinese too
    page.goto(f"{base}/fleet?lang=zh")
    assert "集群总览" in page.locator("h1").inner_text()
    shot(page, "fleet-zh")


def test_access_is_guarded_and_actions_are_csrf_safe(
    run: dict[str, Any], nodewatch_proc: Callable[..., Proc]
) -> None:
    dash = nodewatch_proc("dashboard", "--port", "0", config=run["path"], ready="dashboard ready",
                          env={"NODEWATCH_DASHBOARD_TOKEN": TOKEN})  # fmt: skip
    base = dash.wait_for_line("dashboard ready").split("url=", 1)[1].removesuffix("/fleet")
    host = base.removeprefix("http://")
    assert requests.get(f"{base}/fleet", allow_redirects=False, timeout=10).status_code == 303  # to /login
    bearer = {"Authorization": f"Bearer {TOKEN}"}
    for path in ("/fleet", f"/cluster/{CLUSTER}", f"/cluster/{CLUSTER}/node/{DISK}", "/alerts"):
        live = requests.get(f"{base}{path}?fragment=1", headers=bearer, timeout=10)  # what the script polls
        assert live.status_code == 200 and "<html" not in live.text and "<table" in live.text, path
    assert requests.get(f"{base}/cluster/nope", headers=bearer, timeout=10).status_code == 404
    scraped = requests.get(
        f"{base}/metrics", timeout=10
    )  # the metrics room's, scraped without the credential
    assert scraped.status_code == 200 and "nodewatch_" in scraped.text
    page = requests.get(f"{base}/alerts", headers=bearer, timeout=10)
    assert page.status_code == 200 and TOKEN not in page.text
    csrf = page.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    form = {"cluster": CLUSTER, "rule": "cpu_usage", "duration": "1h", "author": "t", "comment": "c"}
    same = {**bearer, "Origin": base}
    post = lambda data, headers: requests.post(  # noqa: E731
        f"{base}/actions/silence", data=data, headers=headers, allow_redirects=False, timeout=10
    )
    assert post(form | {"csrf": csrf}, {"Origin": base}).status_code == 401  # no credential
    assert post(form, same).status_code == 403  # no CSRF token
    assert post(form | {"csrf": "0" * 64}, same).status_code == 403  # a wrong one
    assert post(form | {"csrf": csrf}, {**bearer, "Origin": "http://evil.example"}).status_code == 403
    assert run["stores"].silences.active(time.time()) == []
    assert post(form | {"csrf": csrf}, same).status_code == 303
    (made,) = run["stores"].silences.active(time.time())
    assert (made.cluster, made.rule, made.author) == (CLUSTER, "cpu_usage", "t")
    # the other actions, the same functions as the CLI's
    act = lambda what, data: requests.post(  # noqa: E731
        f"{base}/actions/{what}", data={**data, "csrf": csrf}, headers=same, allow_redirects=False, timeout=10
    )
    assert act("expire", {"id": made.id}).status_code == 303
    assert run["stores"].silences.active(time.time()) == []
    fp, state = next((fp, a) for fp, a in run["stores"].alerts.load(CLUSTER).items() if a.node == DOWN)
    assert not state.acked and act("ack", {"cluster": CLUSTER, "fp": fp}).status_code == 303
    assert run["stores"].alerts.load(CLUSTER)[fp].acked
    retried = act("retry", {})
    assert retried.status_code == 303 and "retry+0" in retried.headers["location"]  # no dead letters here
    assert host  # the URL the command printed is where it listens


def test_insecure_local_opens_the_pages_on_loopback_only_and_never_the_actions(
    run: dict[str, Any], nodewatch_proc: Callable[..., Proc]
) -> None:
    dash = nodewatch_proc("dashboard", "--port", "0", "--insecure-local", config=run["path"],
                          ready="dashboard ready")  # fmt: skip
    base = dash.wait_for_line("dashboard ready").split("url=", 1)[1].removesuffix("/fleet")
    assert base.startswith("http://127.0.0.1:")
    assert requests.get(f"{base}/fleet", timeout=10).status_code == 200
    refused = requests.post(f"{base}/actions/retry", data={"csrf": "x"}, headers={"Origin": base}, timeout=10)
    assert refused.status_code == 401
