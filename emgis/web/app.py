"""The workbench's web application (Starlette): pages and endpoints over the store, the
project folders, the run manager and the helper process.

Every page is rendered from the package's templates (``emgis/web/templates``, autoescaped:
input text is data, never template), runs only the server's own script files (a
Content-Security-Policy on every response), and every POST carries the session's CSRF token
(a form field or the ``X-CSRF-Token`` header). See :mod:`emgis.web.security`.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import datetime as dt
import hmac
import json
import multiprocessing
import re
import sys
import time
import urllib.parse
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2
from starlette.applications import Starlette
from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import (
    FileResponse,
    HTMLResponse,
    JSONResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from starlette.routing import Route

from emgis.outputs.folder import safe_stem
from emgis.texts import Texts, texts
from emgis.web import projects as pj
from emgis.web import store as st
from emgis.web import tasks
from emgis.web.runner import RunManager
from emgis.web.security import (
    SECURITY_HEADERS,
    BodyLimit,
    Limits,
    UploadError,
    csp,
    extract_zip,
    script_hashes,
    upload_name,
)

COOKIE = "emgis_session"
RUN_KINDS = ("full", "coverage", "scenario", "siting")
SITE_KINDS = ("micro_fire_station", "fire_station", "township_rescue_team", "village_team",
              "stockpile", "forest_fire_team", "medical", "township_fire_brigade")
LOCAL_USER = st.User(0, "local", True)


@dataclass
class Config:
    """How the server was started."""

    data: Path
    lang: str = "en"
    scheduler: str | None = None
    local_mode: bool = True  # on 127.0.0.1 with no users: one planner, no login
    limits: Limits = field(default_factory=Limits)
    parallel: int = 2
    secure_cookie: bool = False


@dataclass
class Ctx:
    """What a request knows of its caller."""

    session: st.Session
    user: st.User | None
    new_cookie: str | None = None


def _pkg(*parts: str) -> Path:
    return Path(str(resources.files("emgis").joinpath(*parts)))


class Workbench:
    """The application's state: store, run manager, helper pool, templates."""

    def __init__(self, cfg: Config) -> None:
        self.cfg = cfg
        self.data = cfg.data.resolve()
        self.data.mkdir(parents=True, exist_ok=True)
        self.store = st.Store(self.data / st.FILE)
        self.t: Texts = texts(cfg.lang)
        self.runs = RunManager(self.store, self.data, lang=cfg.lang, scheduler=cfg.scheduler,
                               parallel=cfg.parallel)
        self.pool: concurrent.futures.ProcessPoolExecutor | None = None
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(str(_pkg("web", "templates"))),
            autoescape=True, undefined=jinja2.StrictUndefined)
        self.env.globals.update(t=self._word, kind=self.t.kind, lang=cfg.lang,
                                scen=lambda n: self.t.get("scenario", str(n)))
        self.env.filters["when"] = _when
        self.env.filters["size"] = _size
        self.tmp = self.data / ".workbench" / "tmp"
        self.tmp.mkdir(parents=True, exist_ok=True)

    def _word(self, key: str, **values: Any) -> str:
        text = self.t.get("web", key)
        return text.format(**values) if values else text

    # -- life ------------------------------------------------------------------------------
    def startup(self) -> None:
        self.discover()
        self.runs.start()
        self._pool()

    def shutdown(self) -> None:
        self.runs.stop()
        if self.pool is not None:
            self.pool.shutdown(wait=False, cancel_futures=True)
            self.pool = None

    def discover(self) -> None:
        """District folders under the data folder not yet in the store become projects."""
        for p in sorted(self.data.iterdir()):
            if p.is_dir() and not p.name.startswith(".") and (p / pj.TOML).exists() \
                    and self.store.project(p.name) is None:
                self.store.add_project(p.name, p.name, None)

    def _pool(self) -> concurrent.futures.ProcessPoolExecutor:
        if self.pool is None:
            self.pool = concurrent.futures.ProcessPoolExecutor(
                max_workers=1, mp_context=multiprocessing.get_context("spawn"))
            self.pool.submit(tasks.warm)
        return self.pool

    async def task(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Run ``fn(*args)`` in the helper process."""
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._pool(), fn, *args)
        except concurrent.futures.process.BrokenProcessPool:
            self.pool = None
            return await loop.run_in_executor(self._pool(), fn, *args)

    # -- pages -----------------------------------------------------------------------------
    def page(self, template: str, ctx: Ctx, /, status: int = 200, **values: Any
             ) -> HTMLResponse:
        tpl = self.env.get_template(template)
        html = tpl.render(csrf=ctx.session.csrf, user=ctx.user, local=self.local, **values)
        return HTMLResponse(html, status_code=status)

    @property
    def local(self) -> bool:
        return self.cfg.local_mode and self.store.user_count() == 0


def _when(ts: float | None) -> str:
    if not ts:
        return ""
    return dt.datetime.fromtimestamp(float(ts)).strftime("%Y-%m-%d %H:%M:%S")


def _size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:,.0f} {unit}" if unit == "B" else f"{n:,.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return str(n)


# --- sessions, CSRF, permissions -----------------------------------------------------------

def _wb(request: Request) -> Workbench:
    wb: Workbench = request.app.state.wb
    return wb


def _ctx(request: Request) -> Ctx:
    wb = _wb(request)
    token = request.cookies.get(COOKIE)
    session = wb.store.session(token)
    new = None
    if session is None:
        new, session = wb.store.new_session(None)
    user = session.user
    if user is None and wb.local:
        user = LOCAL_USER
    return Ctx(session, user, new)


def _finish(request: Request, ctx: Ctx, resp: Response) -> Response:
    if ctx.new_cookie:
        resp.set_cookie(COOKIE, ctx.new_cookie, max_age=st.SESSION_SECONDS, httponly=True,
                        samesite="strict", secure=_wb(request).cfg.secure_cookie, path="/")
    return resp


def _same_origin(request: Request) -> bool:
    origin = request.headers.get("origin")
    if not origin or origin == "null":
        return origin != "null"
    host = request.headers.get("host", "")
    return urllib.parse.urlsplit(origin).netloc == host


async def _csrf(request: Request, ctx: Ctx, form: FormData | None = None) -> None:
    """Refuse (403) a POST without the session's token, or from another origin."""
    sent = request.headers.get("x-csrf-token")
    if sent is None and form is not None:
        v = form.get("csrf")
        sent = v if isinstance(v, str) else None
    if not _same_origin(request) or not sent or ctx.new_cookie or \
            not hmac.compare_digest(sent.encode(), ctx.session.csrf.encode()):
        raise HTTPException(403, "csrf")


def _wants_html(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return "text/html" in accept or ("application/json" not in accept and \
        not request.url.path.endswith((".json", "/status", "/events")))


def _login_needed(request: Request, ctx: Ctx) -> Response | None:
    if ctx.user is not None:
        return None
    if request.method == "GET" and _wants_html(request):
        return _finish(request, ctx, RedirectResponse("/login", status_code=303))
    return _finish(request, ctx, JSONResponse({"error": "login"}, status_code=401))


def _project(request: Request, ctx: Ctx) -> st.Project:
    wb = _wb(request)
    slug = request.path_params["slug"]
    p = wb.store.project(slug)
    if p is None or not (ctx.user is not None and (ctx.user.is_admin or
                                                     wb.store.can_see(ctx.user, p))):
        raise HTTPException(404, "no such project")
    if not (wb.data / p.slug).is_dir():
        raise HTTPException(404, "no such project")
    return p


def _run(request: Request, project: st.Project) -> st.Run:
    try:
        rid = int(request.path_params["rid"])
    except ValueError:
        raise HTTPException(404, "no such run") from None
    run = _wb(request).store.run(rid)
    if run is None or run.project_id != project.id:
        raise HTTPException(404, "no such run")
    return run


Handler = Callable[[Request, Ctx], Awaitable[Response]]


def page(*, login: bool = True, post: bool = False, form: bool = False
         ) -> Callable[[Handler], Callable[[Request], Awaitable[Response]]]:
    """A route: the caller's session (made when missing), login and CSRF checked."""

    def wrap(fn: Handler) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            ctx = _ctx(request)
            if login:
                refused = _login_needed(request, ctx)
                if refused is not None:
                    if post:  # no login, no POST: and never a hint past the CSRF check
                        return _finish(request, ctx, JSONResponse({"error": "login"},
                                                                  status_code=401))
                    return refused
            if post and not form:
                await _csrf(request, ctx)
            resp = await fn(request, ctx)
            return _finish(request, ctx, resp)

        return endpoint

    return wrap


async def _form(request: Request, ctx: Ctx, *, files: int = 0) -> FormData:
    wb = _wb(request)
    try:
        data = await request.form(max_files=max(files, 0), max_fields=200,
                                  max_part_size=2 * 1024 * 1024)
    except HTTPException:
        raise
    except Exception as exc:  # the multipart parser's refusals (too many files ...)
        raise HTTPException(400, "form") from exc
    await _csrf(request, ctx, data)
    n = sum(1 for _, v in data.multi_items() if isinstance(v, UploadFile))
    if n > wb.cfg.limits.files:
        raise HTTPException(413, "files")
    return data


# --- login ----------------------------------------------------------------------------------

@page(login=False)
async def login_page(request: Request, ctx: Ctx) -> Response:
    return _wb(request).page("login.html", ctx, error=False)


@page(login=False, post=True, form=True)
async def login_post(request: Request, ctx: Ctx) -> Response:
    wb = _wb(request)
    form = await _form(request, ctx)
    name, password = str(form.get("name", "")), str(form.get("password", ""))
    user = await asyncio.get_running_loop().run_in_executor(None, wb.store.login, name,
                                                            password)
    if user is None:
        return wb.page("login.html", ctx, status=401, error=True)
    wb.store.end_session(ctx.session.token_hash)
    token, _ = wb.store.new_session(user)
    ctx.new_cookie = token  # a new session id at login (no fixation)
    return RedirectResponse("/", status_code=303)


@page(login=False, post=True, form=True)
async def logout(request: Request, ctx: Ctx) -> Response:
    await _form(request, ctx)
    _wb(request).store.end_session(ctx.session.token_hash)
    resp = RedirectResponse("/login", status_code=303)
    resp.delete_cookie(COOKIE, path="/")
    return resp


# --- projects -------------------------------------------------------------------------------

@page()
async def home(request: Request, ctx: Ctx) -> Response:
    wb = _wb(request)
    items = []
    for p in wb.store.projects(ctx.user if ctx.user is not LOCAL_USER else None):
        runs = wb.store.runs(p)
        items.append({"p": p, "last": runs[-1] if runs else None, "n": len(runs)})
    return wb.page("home.html", ctx, projects=items, limits=wb.cfg.limits, error=None)


async def _save_uploads(wb: Workbench, form: FormData, dest: Path) -> list[str]:
    """Write the uploaded files into ``dest`` (zips unpacked, every name made safe)."""
    limits = wb.cfg.limits
    saved: list[str] = []
    for _, v in form.multi_items():
        if not isinstance(v, UploadFile) or not v.filename:
            continue
        name = upload_name(v.filename)
        if name.lower() == pj.TOML:
            raise UploadError("upload_format", name=v.filename, formats="")
        if name.endswith(".zip"):
            tmp = wb.tmp / f"upload-{time.time_ns()}.zip"
            try:
                await _copy(v, tmp, limits.request_bytes)
                saved += await asyncio.get_running_loop().run_in_executor(
                    None, extract_zip, tmp, dest, limits)
            finally:
                tmp.unlink(missing_ok=True)
            continue
        await _copy(v, dest / name, limits.request_bytes)
        saved.append(name)
    return saved


async def _copy(src: UploadFile, dest: Path, limit: int) -> None:
    n = 0
    part = dest.with_name(f".{dest.name}.part")
    try:
        with part.open("wb") as fh:
            while chunk := await src.read(1 << 20):
                n += len(chunk)
                if n > limit:
                    raise UploadError("upload_too_big", mb=limit // (1024 * 1024))
                fh.write(chunk)
        part.replace(dest)
    finally:
        part.unlink(missing_ok=True)


def _upload_error(wb: Workbench, exc: UploadError) -> str:
    return wb.t.get("web", exc.key).format(**exc.values)


@page(post=True, form=True)
async def project_new(request: Request, ctx: Ctx) -> Response:
    wb = _wb(request)
    form = await _form(request, ctx, files=wb.cfg.limits.files + 1)
    title = str(form.get("title", "")).strip()[:200]
    if not title:
        return _home_error(wb, ctx, wb.t["web.need_title"])
    slug = pj.new_slug(title, [p.slug for p in wb.store.projects()] +
                       [p.name for p in wb.data.iterdir()])
    folder = wb.data / slug
    folder.mkdir()
    try:
        saved = await _save_uploads(wb, form, folder)
    except UploadError as exc:
        pj.remove_tree(folder)
        return _home_error(wb, ctx, _upload_error(wb, exc), status=400)
    if not saved:
        pj.remove_tree(folder)
        return _home_error(wb, ctx, wb.t["web.need_files"], status=400)
    assert ctx.user is not None
    project = wb.store.add_project(slug, title, ctx.user if ctx.user is not LOCAL_USER
                                   else None)
    result = await wb.task(tasks.init, str(folder), wb.cfg.lang)
    _remember_check(wb, project, result)
    return RedirectResponse(f"/p/{urllib.parse.quote(project.slug)}", status_code=303)


def _home_error(wb: Workbench, ctx: Ctx, error: str, status: int = 400) -> Response:
    items = [{"p": p, "last": None, "n": 0}
             for p in wb.store.projects(ctx.user if ctx.user is not LOCAL_USER else None)]
    return wb.page("home.html", ctx, status=status, projects=items, limits=wb.cfg.limits,
                   error=error)


def _check_file(wb: Workbench, project: st.Project) -> Path:
    return wb.data / ".workbench" / "checks" / f"{project.id}.json"


def _remember_check(wb: Workbench, project: st.Project, result: dict[str, Any]) -> None:
    path = _check_file(wb, project)
    path.parent.mkdir(parents=True, exist_ok=True)
    toml = wb.data / project.slug / pj.TOML
    result = {**result, "toml_mtime": toml.stat().st_mtime if toml.exists() else None}
    pj.write_text(path, json.dumps(result, ensure_ascii=False))


async def _checked(wb: Workbench, project: st.Project) -> dict[str, Any]:
    """The project's last check, redone when district.toml or a file changed since."""
    path = _check_file(wb, project)
    folder = wb.data / project.slug
    newest = max((p.stat().st_mtime for p in folder.iterdir() if p.is_file()), default=0.0)
    try:
        doc: dict[str, Any] = json.loads(path.read_text("utf-8"))
        if path.stat().st_mtime >= newest:
            return doc
    except (OSError, ValueError):
        pass
    doc = await wb.task(tasks.check, str(folder), wb.cfg.lang)
    _remember_check(wb, project, doc)
    return doc


def _runs_view(wb: Workbench, project: st.Project) -> list[dict[str, Any]]:
    out = []
    for r in reversed(wb.store.runs(project)):
        out.append({"r": r, "changes": [_change_words(wb.t, c) for c in r.changes],
                    "what": _run_words(wb.t, r)})
    return out


def _run_words(t: Texts, r: st.Run) -> str:
    o = r.options
    words = t.get("web", f"kind_{r.kind}")
    if r.kind == "scenario":
        names = [t.get("scenario", str(n)) for n in o.get("scenarios") or []]
        names += [str(n) for n in o.get("hazard_names") or o.get("hazards") or []]
        words += "：" if t.lang == "zh" else ": "
        words += ", ".join(str(n) for n in names) if names else t["web.all_scenarios"]
    if r.kind == "siting":
        words += f" · {t.kind(str(o.get('site_kind', '')))} +{o.get('add', 1)}"
    if o.get("plan"):
        words += " · " + t["web.with_plan"].format(plan=o["plan"])
    return words


def _change_words(t: Texts, c: dict[str, Any]) -> str:
    what = c.get("what")
    if what == "first":
        return t["web.change_first"]
    if what == "setting":
        return t["web.change_setting"].format(key=c["key"], old=_v(t, c.get("old")),
                                              new=_v(t, c.get("new")))
    if what == "file":
        return t.get("web", f"change_file_{c['change']}").format(name=c["name"])
    if what == "plan":
        return t["web.change_plan"].format(old=c.get("old") or t["web.no_plan"],
                                           new=c.get("new") or t["web.no_plan"])
    return str(c)


def _v(t: Texts, v: Any) -> str:
    if v is None:
        return t["web.default_word"]
    if isinstance(v, list):
        return ", ".join(str(x) for x in v)
    return str(v)


@page()
async def project_page(request: Request, ctx: Ctx) -> Response:
    wb = _wb(request)
    project = _project(request, ctx)
    folder = wb.data / project.slug
    check = await _checked(wb, project)
    runs = _runs_view(wb, project)
    done = [x["r"] for x in runs if x["r"].status == st.DONE and
            (wb.runs.out_dir(project, x["r"]) / "coverage.csv").exists()]
    plans = sorted(p.name for p in (folder / "plans").glob("*.csv")) \
        if (folder / "plans").is_dir() else []
    text, config = pj.read_config(folder)
    used: dict[str, str] = {pj.TOML: wb.t["web.settings_title"]}
    layers = config.get("layers") if isinstance(config.get("layers"), dict) else {}
    assert isinstance(layers, dict)
    for layer, spec in layers.items():
        paths = spec.get("path") if isinstance(spec, dict) else spec
        for name in paths if isinstance(paths, list) else [paths]:
            used[str(name)] = wb.t.get("layer", str(layer))
    roads = config.get("roads")
    road = roads.get("path") if isinstance(roads, dict) else roads
    if isinstance(road, str):
        used[road] = wb.t["init.roads_word"]
    files = [{**f, "used": used.get(f["name"], "")} for f in pj.input_files(folder)]
    return wb.page("project.html", ctx, project=project, check=check, runs=runs,
                   files=files, done=done, plans=plans,
                   site_kinds=SITE_KINDS, toml_text=text, limits=wb.cfg.limits,
                   upload_error=None, plan_chosen=request.query_params.get("plan", ""))


@page(post=True, form=True)
async def project_files(request: Request, ctx: Ctx) -> Response:
    wb = _wb(request)
    project = _project(request, ctx)
    form = await _form(request, ctx, files=wb.cfg.limits.files + 1)
    folder = wb.data / project.slug
    try:
        await _save_uploads(wb, form, folder)
    except UploadError as exc:
        return HTMLResponse(wb.env.get_template("message.html").render(
            csrf=ctx.session.csrf, user=ctx.user, local=wb.local, project=project,
            message=_upload_error(wb, exc)), status_code=400)
    if form.get("reinit"):
        result = await wb.task(tasks.init, str(folder), wb.cfg.lang)
    else:
        result = await wb.task(tasks.check, str(folder), wb.cfg.lang)
    _remember_check(wb, project, result)
    return RedirectResponse(f"/p/{urllib.parse.quote(project.slug)}", status_code=303)


# --- settings -------------------------------------------------------------------------------

@page()
async def settings_page(request: Request, ctx: Ctx) -> Response:
    wb = _wb(request)
    project = _project(request, ctx)
    _, config = pj.read_config(wb.data / project.slug)
    check = await _checked(wb, project)
    text, _ = pj.read_config(wb.data / project.slug)
    return wb.page("settings.html", ctx, project=project, current_toml=text,
                   groups=pj.form_groups(config, wb.t), errors={}, saved=False, check=check)


@page(post=True, form=True)
async def settings_post(request: Request, ctx: Ctx) -> Response:
    wb = _wb(request)
    project = _project(request, ctx)
    form = await _form(request, ctx)
    folder = wb.data / project.slug
    text, config = pj.read_config(folder)
    posted: dict[str, Any] = {k: v for k, v in form.items() if isinstance(v, str)}
    posted["siting.sources"] = [v for v in form.getlist("siting.sources") if isinstance(v, str)]
    tables = pj.apply_form(config, posted)
    errors = pj.check_tables(config, tables, wb.cfg.lang)
    if not errors:
        try:
            new_text = pj.set_tables(text, tables)
        except pj.EditError:
            errors = {"": [wb.t["web.cannot_edit"]]}
    if errors:
        check = await _checked(wb, project)
        groups = pj.form_groups(config, wb.t, posted)
        keys = {f.key for g in groups for f in g.fields}
        for k in [k for k in errors if k and k not in keys]:
            errors.setdefault("", []).extend(f"{k}: {m}" for m in errors.pop(k))
        return wb.page("settings.html", ctx, status=400, project=project, current_toml=text,
                       groups=groups, errors=errors,
                       saved=False, check=check)
    pj.write_text(folder / pj.TOML, new_text)
    check = await wb.task(tasks.check, str(folder), wb.cfg.lang)
    _remember_check(wb, project, check)
    text, config = pj.read_config(folder)
    return wb.page("settings.html", ctx, project=project, groups=pj.form_groups(config, wb.t),
                   errors={}, saved=True, check=check, current_toml=text)


@page(post=True, form=True)
async def toml_post(request: Request, ctx: Ctx) -> Response:
    """The text of district.toml, edited as a whole: checked by the schema before it is
    written."""

    wb = _wb(request)
    project = _project(request, ctx)
    form = await _form(request, ctx)
    text = str(form.get("text", "")).replace("\r\n", "\n")
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib
    errors: dict[str, list[str]] = {}
    try:
        config = tomllib.loads(text)
        errors = pj.check_tables(config, {}, wb.cfg.lang)
    except tomllib.TOMLDecodeError as exc:
        errors = {"": [str(exc)]}
    folder = wb.data / project.slug
    if errors:
        current, old = pj.read_config(folder)
        check = await _checked(wb, project)
        return wb.page("settings.html", ctx, status=400, project=project, current_toml=current,
                       groups=pj.form_groups(old, wb.t), errors=errors, saved=False,
                       check=check, toml_text=text)
    pj.write_text(folder / pj.TOML, text)
    check = await wb.task(tasks.check, str(folder), wb.cfg.lang)
    _remember_check(wb, project, check)
    return RedirectResponse(f"/p/{urllib.parse.quote(project.slug)}/settings",
                            status_code=303)


# --- runs -----------------------------------------------------------------------------------

@page(post=True, form=True)
async def run_new(request: Request, ctx: Ctx) -> Response:
    wb = _wb(request)
    project = _project(request, ctx)
    form = await _form(request, ctx)
    kind = str(form.get("kind", "full"))
    if kind not in RUN_KINDS:
        raise HTTPException(400, "kind")
    folder = wb.data / project.slug
    options: dict[str, Any] = {}
    plan = str(form.get("plan", "") or "")
    if plan:
        if plan != Path(plan).name or not (folder / "plans" / plan).is_file():
            raise HTTPException(400, "plan")
        options["plan"] = plan
    if kind == "scenario":
        options["scenarios"] = [str(x) for x in form.getlist("scenario") if str(x)][:20]
        options["hazards"] = [str(x) for x in form.getlist("hazard") if str(x)][:20]
        known = {h["id"]: h["name"] for h in
                 ((await _checked(wb, project)).get("summary") or {}).get("hazards", [])}
        options["hazard_names"] = [str(known.get(h, h)) for h in options["hazards"]]
    if kind == "siting":
        site_kind = str(form.get("site_kind", ""))
        if site_kind not in SITE_KINDS:
            raise HTTPException(400, "site_kind")
        try:
            add = int(str(form.get("add", "1")))
        except ValueError:
            raise HTTPException(400, "add") from None
        if not 1 <= add <= 50:
            raise HTTPException(400, "add")
        options.update(site_kind=site_kind, add=add)
    before = wb.store.runs(project)
    snap = await asyncio.get_running_loop().run_in_executor(None, pj.snapshot, folder,
                                                            options.get("plan"))
    last = before[-1].snapshot if before else None
    assert ctx.user is not None
    run = wb.store.add_run(project, folder=pj.run_folder([r.folder for r in before]),
                           kind=kind, options=options, user_name=ctx.user.name,
                           changes=pj.changes(last, snap), snapshot=snap)
    wb.runs.kick()
    return RedirectResponse(f"/p/{urllib.parse.quote(project.slug)}/runs/{run.id}",
                            status_code=303)


def _manifest(out: Path) -> dict[str, Any] | None:
    try:
        doc = json.loads((out / "run.json").read_text("utf-8"))
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) else None


def _results(wb: Workbench, project: st.Project, run: st.Run) -> dict[str, Any] | None:
    """The files of a finished run, grouped for the page; None unless the run is done and
    its manifest complete."""
    if run.status != st.DONE:
        return None
    doc = _manifest(wb.runs.out_dir(project, run))
    if not doc or not doc.get("complete"):
        return None
    names = sorted(doc.get("files", {}))
    maps = [n for n in names if n.endswith(".html") and n not in ("report.html",)]
    whatif = [n[len("siting_"):-len(".html")] for n in maps if n.startswith("siting_")]
    return {"report": "report.html" if "report.html" in names else None,
            "maps": [(m, _map_label(wb.t, m)) for m in maps], "whatif": whatif,
            "downloads": [n for n in names if not n.endswith(".html")],
            "sizes": {n: int(doc["files"][n].get("size", 0)) for n in names}}


def _map_label(t: Texts, name: str) -> str:
    """A map's name in words (the report's own words for its maps)."""
    stem = name.removesuffix(".html")
    if stem == "coverage":
        return t["report.coverage_map"]
    if stem == "warnings":
        return t["report.warning_map"]
    if stem.startswith("scenario_"):
        return t.fmt("report.scenario_map", name=t.get("scenario", stem[len("scenario_"):]))
    if stem.startswith("siting_"):
        return t.fmt("report.siting_map", kind=t.kind(stem[len("siting_"):]))
    return name


def _status(wb: Workbench, run: st.Run) -> dict[str, Any]:
    return {"id": run.id, "status": run.status, "word": wb.t.get("web", f"status_{run.status}"),
            "progress": round(run.progress, 3), "step": run.step, "error": run.error,
            "finished": run.status in st.FINISHED}


@page()
async def run_page(request: Request, ctx: Ctx) -> Response:
    wb = _wb(request)
    project = _project(request, ctx)
    run = _run(request, project)
    queue_pos = 0
    if run.status == st.QUEUED:
        queue_pos = sum(1 for r in wb.store.runs(status=(st.QUEUED,)) if r.id < run.id)
    return wb.page("run.html", ctx, project=project, run=run, what=_run_words(wb.t, run),
                   changes=[_change_words(wb.t, c) for c in run.changes],
                   results=_results(wb, project, run), state=_status(wb, run),
                   queue_pos=queue_pos)


@page()
async def run_status(request: Request, ctx: Ctx) -> Response:
    wb = _wb(request)
    project = _project(request, ctx)
    return JSONResponse(_status(wb, _run(request, project)))


@page()
async def run_events(request: Request, ctx: Ctx) -> Response:
    """Server-sent events: the run's status as it changes, until it ends."""
    wb = _wb(request)
    project = _project(request, ctx)
    run = _run(request, project)

    async def stream() -> AsyncIterator[bytes]:
        last = None
        quiet = 0.0
        deadline = time.monotonic() + 6 * 3600
        while time.monotonic() < deadline:
            fresh = wb.store.run(run.id)
            if fresh is None:
                return
            doc = _status(wb, fresh)
            if doc != last:
                last = doc
                quiet = 0.0
                yield f"data: {json.dumps(doc, ensure_ascii=False)}\n\n".encode()
                if doc["finished"]:
                    return
            elif quiet > 15:
                quiet = 0.0
                yield b": keep-alive\n\n"
            if await request.is_disconnected():
                return
            await asyncio.sleep(0.4)
            quiet += 0.4

    return StreamingResponse(stream(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


@page(post=True)
async def run_cancel(request: Request, ctx: Ctx) -> Response:
    wb = _wb(request)
    project = _project(request, ctx)
    run = _run(request, project)
    wb.runs.cancel(run)
    if "application/json" in request.headers.get("accept", ""):
        fresh = wb.store.run(run.id)
        assert fresh is not None
        return JSONResponse(_status(wb, fresh))
    return RedirectResponse(f"/p/{urllib.parse.quote(project.slug)}/runs/{run.id}",
                            status_code=303)


def _serve_file(folder: Path, name: str, allowed: set[str]) -> Response:
    """A file of an output folder, only if its manifest lists it: an HTML page inline with
    a CSP naming its own inline scripts, anything else as a download."""
    if name not in allowed or "/" in name or "\\" in name or name.startswith("."):
        raise HTTPException(404, "no such file")
    path = (folder / name).resolve()
    if path.parent != folder.resolve() or not path.is_file():
        raise HTTPException(404, "no such file")
    if name.endswith(".html"):
        text = path.read_text("utf-8")
        resp = HTMLResponse(text)
        resp.headers["x-emgis-csp"] = csp(scripts=script_hashes(text), output_page=True)
        return resp
    quoted = urllib.parse.quote(name)
    media = {".csv": "text/csv; charset=utf-8", ".json": "application/json",
             ".png": "image/png"}.get(path.suffix, "application/octet-stream")
    return FileResponse(path, media_type=media, headers={
        "Content-Disposition": f"attachment; filename*=UTF-8''{quoted}"})


@page()
async def run_file(request: Request, ctx: Ctx) -> Response:
    wb = _wb(request)
    project = _project(request, ctx)
    run = _run(request, project)
    out = wb.runs.out_dir(project, run)
    doc = _manifest(out)
    if run.status != st.DONE or not doc or not doc.get("complete"):
        raise HTTPException(404, "not finished")
    return _serve_file(out, request.path_params["name"], set(doc.get("files", {})))


@page()
async def whatif_page(request: Request, ctx: Ctx) -> Response:
    wb = _wb(request)
    project = _project(request, ctx)
    run = _run(request, project)
    res = _results(wb, project, run)
    kind = request.path_params["kind"]
    if res is None or kind not in res["whatif"]:
        raise HTTPException(404, "no such page")
    return wb.page("whatif.html", ctx, project=project, run=run, site_kind=kind,
                   page_data={"plans": f"/p/{project.slug}/plans", "kind": kind,
                              "run": run.id})


# --- plans ----------------------------------------------------------------------------------

@page(post=True)
async def plan_save(request: Request, ctx: Ctx) -> Response:
    """Save the what-if page's plan (its CSV) to the project's plans/ folder."""
    wb = _wb(request)
    project = _project(request, ctx)
    try:
        body = await request.json()
    except ValueError:
        raise HTTPException(400, "json") from None
    if not isinstance(body, dict):
        raise HTTPException(400, "json")
    csv_text, kind = body.get("csv"), body.get("kind")
    if not isinstance(csv_text, str) or not isinstance(kind, str) or len(csv_text) > 2_000_000:
        raise HTTPException(400, "plan")
    if not csv_text.startswith("id,name,kind,action,lon,lat"):
        return JSONResponse({"ok": False, "errors": [wb.t["web.plan_bad"]]}, status_code=400)
    plans = wb.data / project.slug / "plans"
    plans.mkdir(exist_ok=True)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    name = f"plan_{safe_stem(kind, max_bytes=40)}_{stamp}.csv"
    n = 2
    while (plans / name).exists():
        name = f"plan_{safe_stem(kind, max_bytes=40)}_{stamp}-{n}.csv"
        n += 1
    pending = plans / ".pending"
    pending.mkdir(exist_ok=True)
    tmp = pending / name  # checked under its own name, moved in once it reads
    tmp.write_text(csv_text, "utf-8")
    problems = await wb.task(tasks.check_plan, str(tmp), wb.cfg.lang)
    if problems:
        tmp.unlink(missing_ok=True)
        return JSONResponse({"ok": False, "errors": problems}, status_code=400)
    tmp.replace(plans / name)
    rows = max(0, len(csv_text.strip().splitlines()) - 1)
    return JSONResponse({"ok": True, "name": name, "rows": rows,
                         "message": wb.t["web.plan_saved"].format(name=name, n=rows)})


# --- hazards --------------------------------------------------------------------------------

async def _context(wb: Workbench, project: st.Project) -> dict[str, Any]:
    folder = wb.data / project.slug
    cache = wb.data / ".workbench" / "context" / f"{project.id}.json"
    newest = max((p.stat().st_mtime for p in folder.iterdir() if p.is_file()), default=0.0)
    try:
        if cache.stat().st_mtime >= newest:
            doc: dict[str, Any] = json.loads(cache.read_text("utf-8"))
            return doc
    except (OSError, ValueError):
        pass
    doc = await wb.task(tasks.map_context, str(folder))
    cache.parent.mkdir(parents=True, exist_ok=True)
    pj.write_text(cache, json.dumps(doc, ensure_ascii=False))
    return doc


@page()
async def hazards_page(request: Request, ctx: Ctx) -> Response:
    wb = _wb(request)
    project = _project(request, ctx)
    check = await _checked(wb, project)
    hazards = (check.get("summary") or {}).get("hazards", [])
    return wb.page("hazards.html", ctx, project=project, hazards=hazards,
                   ok=bool(check.get("ok")), error=None,
                   page_data={"context": f"/p/{project.slug}/context.json",
                              "save": f"/p/{project.slug}/hazards",
                              "words": {k: wb.t.get("web", k) for k in (
                                  "draw_points", "draw_need3", "hazard_saved",
                                  "hazard_failed")}})


@page()
async def context_json(request: Request, ctx: Ctx) -> Response:
    wb = _wb(request)
    project = _project(request, ctx)
    return JSONResponse(await _context(wb, project))


def _hazard_fields(wb: Workbench, data: dict[str, Any]) -> tuple[str, str, str, float | None]:
    name = str(data.get("name", "")).strip()[:200]
    kind = str(data.get("kind", "other"))
    effect = str(data.get("effect", "closed"))
    if not name or kind not in pj.HAZARD_KINDS or effect not in ("closed", "slowed"):
        raise HTTPException(400, "hazard")
    factor: float | None = None
    if effect == "slowed":
        try:
            factor = float(str(data.get("speed_factor", "")))
        except ValueError:
            raise HTTPException(400, "speed_factor") from None
        if not 0 < factor <= 1:
            raise HTTPException(400, "speed_factor")
    return name, kind, effect, factor


async def _add_hazard(wb: Workbench, project: st.Project, name: str, kind: str, effect: str,
                      factor: float | None, geometry: dict[str, Any]) -> str:
    check = await _checked(wb, project)
    known = [h["id"] for h in (check.get("summary") or {}).get("hazards", [])]
    hid = pj.next_hazard_id(known)
    folder = wb.data / project.slug
    try:
        pj.add_hazard(folder, hid=hid, name=name, kind=kind, effect=effect,
                      speed_factor=factor, geometry=geometry)
    except pj.EditError:
        raise HTTPException(409, "hazards layer") from None
    result = await wb.task(tasks.check, str(folder), wb.cfg.lang)
    _remember_check(wb, project, result)
    return hid


@page(post=True)
async def hazard_save(request: Request, ctx: Ctx) -> Response:
    """A hazard drawn on the map (JSON: name, kind, effect, speed_factor, geometry)."""
    wb = _wb(request)
    project = _project(request, ctx)
    try:
        data = await request.json()
    except ValueError:
        raise HTTPException(400, "json") from None
    if not isinstance(data, dict):
        raise HTTPException(400, "json")
    name, kind, effect, factor = _hazard_fields(wb, data)
    if not pj.polygon_ok(data.get("geometry")):
        raise HTTPException(400, "geometry")
    hid = await _add_hazard(wb, project, name, kind, effect, factor, data["geometry"])
    return JSONResponse({"ok": True, "id": hid,
                         "message": wb.t["web.hazard_saved"].format(id=hid)})


@page(post=True, form=True)
async def hazard_upload(request: Request, ctx: Ctx) -> Response:
    """A hazard polygon uploaded as a file (GeoJSON, GeoPackage or a zipped shapefile)."""
    wb = _wb(request)
    project = _project(request, ctx)
    form = await _form(request, ctx, files=1)
    name, kind, effect, factor = _hazard_fields(wb, {k: v for k, v in form.items()
                                                    if isinstance(v, str)})
    up = form.get("file")
    if not isinstance(up, UploadFile) or not up.filename:
        raise HTTPException(400, "file")
    work = wb.tmp / f"hazard-{time.time_ns()}"
    work.mkdir()
    try:
        try:
            fname = upload_name(up.filename, (".geojson", ".json", ".gpkg", ".zip"))
            await _copy(up, work / fname, wb.cfg.limits.request_bytes)
            path = work / fname
            if fname.endswith(".zip"):
                inner = await asyncio.get_running_loop().run_in_executor(
                    None, extract_zip, path, work, wb.cfg.limits)
                shp = [n for n in inner if n.endswith((".shp", ".geojson", ".gpkg"))]
                if not shp:
                    raise UploadError("hazard_no_polygon")
                path = work / shp[0]
        except UploadError as exc:
            return _hazard_error(wb, ctx, project, _upload_error(wb, exc))
        got = await wb.task(tasks.read_polygon, str(path))
    finally:
        pj.remove_tree(work)
    if "geometry" not in got or not pj.polygon_ok(got["geometry"]):
        return _hazard_error(wb, ctx, project, wb.t["web.hazard_no_polygon"])
    await _add_hazard(wb, project, name, kind, effect, factor, got["geometry"])
    return RedirectResponse(f"/p/{urllib.parse.quote(project.slug)}/hazards",
                            status_code=303)


def _hazard_error(wb: Workbench, ctx: Ctx, project: st.Project, message: str) -> Response:
    return HTMLResponse(wb.env.get_template("message.html").render(
        csrf=ctx.session.csrf, user=ctx.user, local=wb.local, project=project,
        message=message), status_code=400)


# --- compare --------------------------------------------------------------------------------

@page(post=True, form=True)
async def compare_post(request: Request, ctx: Ctx) -> Response:
    wb = _wb(request)
    project = _project(request, ctx)
    form = await _form(request, ctx)
    try:
        a, b = wb.store.run(int(str(form.get("old")))), wb.store.run(int(str(form.get("new"))))
    except ValueError:
        raise HTTPException(400, "runs") from None
    if a is None or b is None or a.project_id != project.id or b.project_id != project.id \
            or a.status != st.DONE or b.status != st.DONE or a.id == b.id:
        raise HTTPException(400, "runs")
    name = f"{a.id}-{b.id}"
    out = wb.data / project.slug / "compare" / name
    doc = _manifest(out)
    if not doc or not doc.get("complete"):
        out.parent.mkdir(parents=True, exist_ok=True)
        res = await wb.task(tasks.compare, str(wb.runs.out_dir(project, a)),
                            str(wb.runs.out_dir(project, b)), str(out), wb.cfg.lang)
        if not res.get("ok"):
            return HTMLResponse(wb.env.get_template("message.html").render(
                csrf=ctx.session.csrf, user=ctx.user, local=wb.local, project=project,
                message="\n".join(res.get("errors", []))), status_code=400)
    return RedirectResponse(f"/p/{urllib.parse.quote(project.slug)}/compare/{name}",
                            status_code=303)


def _compare_dir(wb: Workbench, project: st.Project, name: str) -> tuple[Path, dict[str, Any]]:
    if not re.fullmatch(r"\d+-\d+", name):
        raise HTTPException(404, "no such comparison")
    out = wb.data / project.slug / "compare" / name
    doc = _manifest(out)
    if not doc or not doc.get("complete"):
        raise HTTPException(404, "no such comparison")
    return out, doc


@page()
async def compare_page(request: Request, ctx: Ctx) -> Response:
    wb = _wb(request)
    project = _project(request, ctx)
    name = request.path_params["name"]
    _, doc = _compare_dir(wb, project, name)
    a, b = (int(x) for x in name.split("-"))
    return wb.page("compare.html", ctx, project=project, name=name, old=a, new=b,
                   files=sorted(doc.get("files", {})))


@page()
async def compare_file(request: Request, ctx: Ctx) -> Response:
    wb = _wb(request)
    project = _project(request, ctx)
    out, doc = _compare_dir(wb, project, request.path_params["name"])
    return _serve_file(out, request.path_params["file"], set(doc.get("files", {})))


# --- static files ---------------------------------------------------------------------------

_STATIC = {
    "workbench.js": ("web/static/workbench.js", "text/javascript; charset=utf-8"),
    "workbench.css": ("web/static/workbench.css", "text/css; charset=utf-8"),
    "workbench-map.js": ("web/static/workbench-map.js", "text/javascript; charset=utf-8"),
    "leaflet.js": ("_static/leaflet.js", "text/javascript; charset=utf-8"),
    "leaflet.css": ("_static/leaflet.css", "text/css; charset=utf-8"),
    "images/layers.png": ("_static/layers.png", "image/png"),
}


async def static(request: Request) -> Response:
    """The workbench's own script and style, and the Leaflet emgis ships (no CDN)."""
    entry = _STATIC.get(request.path_params["path"])
    if entry is None:
        raise HTTPException(404, "no such file")
    path = _pkg(*entry[0].split("/"))
    return FileResponse(path, media_type=entry[1], headers={"Cache-Control": "max-age=300"})


# --- errors and headers ---------------------------------------------------------------------

async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    wb = _wb(request)
    code = exc.status_code
    word = wb.t.get("web", f"error_{code}", wb.t["web.error_other"])
    if request.method == "GET" and _wants_html(request):
        return HTMLResponse(wb.env.get_template("error.html").render(
            code=code, word=word, csrf="", user=None, local=False), status_code=code)
    return JSONResponse({"error": word, "code": code}, status_code=code)


class Headers:
    """Every response gets the security headers and a Content-Security-Policy (an output
    page's own, set by its handler, else the workbench's)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(msg: Any) -> None:
            if msg["type"] == "http.response.start":
                headers = [(k, v) for k, v in msg.get("headers", [])]
                own = next((v for k, v in headers if k == b"x-emgis-csp"), None)
                headers = [(k, v) for k, v in headers if k != b"x-emgis-csp"]
                headers.append((b"content-security-policy", own or csp().encode()))
                for k, v in SECURITY_HEADERS.items():
                    headers.append((k.lower().encode(), v.encode()))
                if not any(k == b"cache-control" for k, _ in headers):
                    headers.append((b"cache-control", b"no-store"))
                msg = {**msg, "headers": headers}
            await send(msg)

        await self.app(scope, receive, with_headers)


def create_app(cfg: Config) -> Starlette:
    """The workbench application for the data folder ``cfg.data``."""
    wb = Workbench(cfg)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        wb.startup()
        try:
            yield
        finally:
            wb.shutdown()

    routes = [
        Route("/", home),
        Route("/login", login_page, methods=["GET"]),
        Route("/login", login_post, methods=["POST"]),
        Route("/logout", logout, methods=["POST"]),
        Route("/static/{path:path}", static),
        Route("/projects", project_new, methods=["POST"]),
        Route("/p/{slug}", project_page),
        Route("/p/{slug}/files", project_files, methods=["POST"]),
        Route("/p/{slug}/settings", settings_page, methods=["GET"]),
        Route("/p/{slug}/settings", settings_post, methods=["POST"]),
        Route("/p/{slug}/toml", toml_post, methods=["POST"]),
        Route("/p/{slug}/runs", run_new, methods=["POST"]),
        Route("/p/{slug}/runs/{rid}", run_page),
        Route("/p/{slug}/runs/{rid}/status", run_status),
        Route("/p/{slug}/runs/{rid}/events", run_events),
        Route("/p/{slug}/runs/{rid}/cancel", run_cancel, methods=["POST"]),
        Route("/p/{slug}/runs/{rid}/files/{name}", run_file),
        Route("/p/{slug}/runs/{rid}/whatif/{kind}", whatif_page),
        Route("/p/{slug}/plans", plan_save, methods=["POST"]),
        Route("/p/{slug}/hazards", hazards_page, methods=["GET"]),
        Route("/p/{slug}/hazards", hazard_save, methods=["POST"]),
        Route("/p/{slug}/hazards/upload", hazard_upload, methods=["POST"]),
        Route("/p/{slug}/context.json", context_json),
        Route("/p/{slug}/compare", compare_post, methods=["POST"]),
        Route("/p/{slug}/compare/{name}", compare_page),
        Route("/p/{slug}/compare/{name}/files/{file}", compare_file),
    ]
    app = Starlette(routes=routes, lifespan=lifespan,
                    exception_handlers={HTTPException: http_error},
                    middleware=[Middleware(Headers),
                                Middleware(BodyLimit, limit=cfg.limits.request_bytes)])
    app.state.wb = wb
    return app
