"""The dashboard's ASGI app (Starlette): four pages rendered on the server (fleet, cluster, node, alerts), each
with a live part that a few lines of script fetch again every few seconds (``?fragment=1``: the same template's
live block, never a whole history), the actions of the alerts page, sign-in, and the metrics room's ``/metrics``. Reads through ``read``, decides through ``views``, acts through the CLI's own functions."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode

import jinja2
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from worker import metrics, settings
from worker.cli import alerts as cli_alerts
from worker.cli import durations, timefmt
from worker.dashboard import charts, i18n, read, views
from worker.dashboard.access import COOKIE, Access, same_origin
from worker.state.nodeview import METRICS, WORST
from worker.state.store import Stores

HERE = Path(__file__).parent
REFRESH_S = 5
SINCE = {"1h": 3600.0, "6h": 6 * 3600.0, "1d": 86400.0, "7d": 7 * 86400.0}


class Dashboard:
    """The app's state: the stores, the config, who may look and act, the templates."""

    def __init__(
        self, cfg: settings.Settings, stores: Stores, access: Access, clock: Callable[[], float]
    ) -> None:
        self.cfg, self.stores, self.access, self.clock = cfg, stores, access, clock
        self.clusters = read.Clusters(cfg)
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(HERE / "templates"),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
        )
        self.env.globals.update(bar=charts.bar, METRICS=METRICS, WORST=WORST, ago=ago, pct=pct, when=when)

    # --- rendering ---
    def render(self, request: Request, template: str, status: int = 200, **ctx: Any) -> Response:
        lang = request.query_params.get("lang") or request.cookies.get("nw_lang") or self.cfg.language
        lang = lang if lang in i18n.LANGUAGES else "en"
        who = self.access.principal(request.headers, request.cookies)
        fragment = request.query_params.get("fragment") == "1"
        page = self.env.get_template(template)
        ctx.update(
            w=i18n.words(lang), lang=lang, who=who, csrf=self.access.csrf(who) if who else "",
            refresh=REFRESH_S, path=request.url.path, query=dict(request.query_params), qs=qs,
        )  # fmt: skip
        if fragment:
            body = "".join(page.blocks["live"](page.new_context(ctx)))
        else:
            body = page.render(ctx)
        response = HTMLResponse(body, status_code=status)
        if request.query_params.get("lang") in i18n.LANGUAGES:
            response.set_cookie("nw_lang", lang, samesite="strict", httponly=True)
        response.headers["Cache-Control"] = "no-store"
        return response

    # --- access ---
    def gate(self, request: Request) -> Response | None:
        """None when the request may read; else the answer that asks for a credential."""
        if self.access.insecure_local or self.access.principal(request.headers, request.cookies):
            return None
        if self.access.token is not None:
            return RedirectResponse(f"/login?{urlencode({'next': request.url.path})}", status_code=303)
        return PlainTextResponse("sign in", 401, headers={"WWW-Authenticate": 'Basic realm="nodewatch"'})

    async def action_form(self, request: Request) -> tuple[dict[str, str], Response | None]:
        """The form of an action and None, or the refusal: no credential, a wrong CSRF token, another origin."""
        form = {
            k: v[-1] for k, v in parse_qs((await request.body()).decode(), keep_blank_values=True).items()
        }
        who = self.access.principal(request.headers, request.cookies)
        if who is None:
            return form, PlainTextResponse(i18n.words("en")["needs_auth"], 401)
        if not same_origin(request.headers) or not self.access.csrf_ok(who, form.get("csrf", "")):
            return form, PlainTextResponse("cross-site request refused", 403)
        return form, None

    # --- pages ---
    def fleet(self, request: Request) -> Response:
        if (refused := self.gate(request)) is not None:
            return refused
        q = request.query_params
        lines = read.fleet(self.stores, self.clusters.specs(), self.clock())
        rows = views.fleet(lines, q.get("sort", "status"), q.get("q", ""), q.get("status", ""))
        counts = {s: sum(1 for c in lines if c.status == s) for s in views.STATUSES}
        return self.render(request, "fleet.html", rows=rows, counts=counts, total=len(lines),
                           columns=views.FLEET_COLUMNS, statuses=views.STATUSES)  # fmt: skip

    def cluster(self, request: Request) -> Response:
        if (refused := self.gate(request)) is not None:
            return refused
        name = request.path_params["name"]
        spec = self.clusters.spec(name)
        if spec is None:
            return PlainTextResponse(f"no cluster {name!r} is configured", 404)
        q = request.query_params
        view, alerts = read.cluster(self.stores, name)
        rows = views.nodes(
            view.rows if view else [], q.get("sort", "ready"), q.get("q", ""), q.get("only", "")
        )
        number = int(q.get("page", "1")) if q.get("page", "1").isdigit() else 1
        shown = views.page(rows, number)
        kept = read.kept(self.stores, name, shown.rows)
        by_node: dict[str, list[Any]] = {}
        for a in alerts.values():
            if a.status == "firing":
                by_node.setdefault(a.node, []).append(a)
        limits = {r.name: self.cfg.thresholds_for(name, kept[r.name].labels if r.name in kept else {},
                                                  spec.threshold_profile) for r in shown.rows}  # fmt: skip
        return self.render(
            request, "cluster.html", name=name, view=view, shown=shown, kept=kept, by_node=by_node,
            heat=views.heatmap(rows), heat_names=[r.name for r in rows], limits=limits,
            columns=views.NODE_COLUMNS, now=self.clock(),
        )  # fmt: skip

    def node(self, request: Request) -> Response:
        if (refused := self.gate(request)) is not None:
            return refused
        name, node = request.path_params["name"], request.path_params["node"]
        if name not in self.clusters.names():
            return PlainTextResponse(f"no cluster {name!r} is configured", 404)
        now = self.clock()
        since_key = request.query_params.get("since", "6h")
        since = now - SINCE.get(since_key, SINCE["6h"])
        view, alerts = read.cluster(self.stores, name)
        row = next((r for r in (view.rows if view else []) if r.name == node), None)
        kept = read.kept(self.stores, name, [row] if row else []).get(node)
        charts_ = read.node_charts(self.cfg, self.stores, name, node, row, since, now)
        w = i18n.words(self._lang(request))
        labels = {k: w[k] for k in ("warning", "critical", "limit", "predicted", "empty")}
        drawn = [(c, charts.history(c.points, since, now, c.warning, c.critical,
                                    c.limit.line if c.limit else None, c.outcome, labels)) for c in charts_]  # fmt: skip
        mine = sorted((a for a in alerts.values() if a.node == node), key=lambda a: -a.severity)
        return self.render(request, "node.html", name=name, node=node, row=row, kept=kept, drawn=drawn,
                           alerts=mine, since_key=since_key, sinces=list(SINCE), now=now)  # fmt: skip

    def alerts(self, request: Request) -> Response:
        if (refused := self.gate(request)) is not None:
            return refused
        now = self.clock()
        chosen = request.query_params.get("cluster", "")
        names = [chosen] if chosen else self.clusters.names()
        silences = self.stores.silences.active(now)
        lines = read.alert_lines(self.stores, names, silences)
        with_alerts = sorted({x.cluster for x in lines})[:20] if not chosen else names
        tz = timefmt.zone(self.cfg)
        why = read.why(self.stores, with_alerts, 50, tz, now)[:100]
        fp = request.query_params.get("fp", "")
        told = read.alert_story(self.stores, names, fp, lines, tz, now) if fp else []
        return self.render(
            request, "alerts.html", lines=lines, silences=silences, why=why, chosen=chosen, fp=fp, told=told,
            dead=self.stores.notifications.dead_letters()[:100], now=now, message=request.query_params.get("done", ""),
            clusters=self.clusters.names(),
        )  # fmt: skip

    def _lang(self, request: Request) -> str:
        lang = request.query_params.get("lang") or request.cookies.get("nw_lang") or self.cfg.language
        return lang if lang in i18n.LANGUAGES else "en"

    # --- actions: the CLI's functions ---
    async def act(self, request: Request) -> Response:
        form, refused = await self.action_form(request)
        if refused is not None:
            return refused
        what = request.path_params["what"]
        w = i18n.words(self._lang(request))
        now = self.clock()
        if what == "silence":
            if not any(form.get(k) for k in ("cluster", "node", "rule")):
                return PlainTextResponse(w["matcher_needed"], 400)
            if not form.get("author") or not form.get("comment"):
                return PlainTextResponse(w["author_comment"], 400)
            try:
                duration = durations.parse(form.get("duration", "2h"))
            except ValueError:
                return PlainTextResponse(w["bad_duration"], 400)
            s = await run_in_threadpool(
                cli_alerts.add_silence, self.stores, now, duration, cluster=form.get("cluster", ""),
                node=form.get("node", ""), rule=form.get("rule", ""), author=form["author"], comment=form["comment"],
            )  # fmt: skip
            done = s.id
        elif what == "expire":
            await run_in_threadpool(self.stores.silences.expire, form.get("id", ""), now)
            done = form.get("id", "")
        elif what in ("ack", "unack"):
            names = [form["cluster"]] if form.get("cluster") else self.clusters.names()
            found = await run_in_threadpool(
                cli_alerts.acknowledge, self.stores, names, form.get("fp", ""), what == "ack"
            )
            done = form.get("fp", "") if found else ""
        elif what == "retry":
            done = str(await run_in_threadpool(cli_alerts.retry_dead_letters, self.stores))
        else:
            return PlainTextResponse("no such action", 404)
        return RedirectResponse(f"/alerts?{urlencode({'done': f'{what} {done}'})}", status_code=303)

    async def login(self, request: Request) -> Response:
        target = request.query_params.get("next", "/fleet")
        target = target if target.startswith("/") and not target.startswith("//") else "/fleet"
        if request.method == "POST":
            form = {k: v[-1] for k, v in parse_qs((await request.body()).decode()).items()}
            if same_origin(request.headers) and self.access.sign_in(form.get("token", "")):
                response = RedirectResponse(target, status_code=303)
                response.set_cookie(COOKIE, self.access.session(), httponly=True, samesite="strict")
                return response
            return self.render(request, "login.html", status=401, failed=True, target=target)
        return self.render(request, "login.html", failed=False, target=target)


def qs(query: dict[str, str], **changes: Any) -> str:
    """The page's query string with ``changes`` (None drops a key)."""
    merged = {**query, **{k: v for k, v in changes.items()}}
    return urlencode({k: v for k, v in merged.items() if v not in (None, "") and k != "fragment"})


def ago(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    if seconds < 120:
        return f"{seconds:.0f}s"
    if seconds < 7200:
        return f"{seconds / 60:.0f}m"
    return f"{seconds / 3600:.1f}h"


def pct(v: float | None) -> str:
    return "–" if v is None else f"{v:.0f}%"


def when(t: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime(t))


class Metrics:
    """The metrics room's ASGI app (worker/metrics) at exactly /metrics. Not behind the dashboard's credential:
    Prometheus scrapes it as it scrapes the workers' metricsPort (deploy/ puts a NetworkPolicy in front)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.app(scope, receive, send)


def build(
    cfg: settings.Settings, stores: Stores, access: Access, clock: Callable[[], float] = time.time
) -> Starlette:
    d = Dashboard(cfg, stores, access, clock)
    routes: list[Any] = [
        Route("/", lambda r: RedirectResponse("/fleet", status_code=303)),
        Route("/fleet", d.fleet),
        Route("/cluster/{name}", d.cluster),
        Route("/cluster/{name}/node/{node}", d.node),
        Route("/alerts", d.alerts),
        Route("/actions/{what}", d.act, methods=["POST"]),
        Route("/login", d.login, methods=["GET", "POST"]),
        Route("/healthz", lambda r: PlainTextResponse("ok")),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]
    routes.append(Route("/metrics", Metrics(metrics.asgi_app(stores, cfg))))
    app = Starlette(routes=routes)
    app.state.dashboard = d
    return app
