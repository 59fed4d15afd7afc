"""``emgis serve`` and ``emgis serve adduser``: the command side of the workbench (the web
stack is imported here, only when the command runs)."""

from __future__ import annotations

import argparse
import getpass
import ipaddress
import os
from pathlib import Path
from typing import Any

from emgis.texts import texts
from emgis.web.store import FILE, Store

DEFAULT_DATA = "emgis-data"


def loopback(host: str) -> bool:
    """Whether ``host`` is this machine only (127.0.0.1, ::1, localhost)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def adduser(args: argparse.Namespace, say: Any, warn: Any) -> int:
    """Add a user to the workbench's store (or reset a user's password and projects)."""

    t = texts(args.lang)
    if not args.name:
        warn(t["web.cli_need_name"])
        return 2
    password = os.environ.get("EMGIS_PASSWORD")
    if password is None:
        password = getpass.getpass(t["web.cli_password"])
        again = getpass.getpass(t["web.cli_password_again"])
        if password != again:
            warn(t["web.cli_password_mismatch"])
            return 2
    data = Path(args.data or DEFAULT_DATA)
    store = Store(data / FILE)
    projects = [p.strip() for p in (args.projects or "").split(",") if p.strip()]
    _discover(store, data)
    try:
        user = store.add_user(args.name, password, admin=args.admin, projects=projects)
    except ValueError as exc:
        warn(t["web.cli_user_refused"].format(why=str(exc)))
        return 2
    finally:
        store.close()
    say(t["web.cli_user_added"].format(name=user.name, role=t["web.role_admin"] if user.is_admin
                                       else t["web.role_planner"], path=data / FILE))
    return 0


def _discover(store: Any, data: Path) -> None:
    if not data.is_dir():
        return
    for p in sorted(data.iterdir()):
        if p.is_dir() and not p.name.startswith(".") and (p / "district.toml").exists() \
                and store.project(p.name) is None:
            store.add_project(p.name, p.name, None)


def serve(args: argparse.Namespace, say: Any, warn: Any) -> int:
    """Start the workbench on ``--host``:``--port`` over the data folder ``--data``."""
    if args.action == "adduser":
        return adduser(args, say, warn)
    if args.action is not None or args.name:
        warn(texts(args.lang)["web.cli_unknown_action"])
        return 2
    import uvicorn  # deferred: the web stack only for this command

    from emgis.web.app import Config, create_app  # deferred: loads starlette

    t = texts(args.lang)
    data = Path(args.data or DEFAULT_DATA)
    local = loopback(args.host)
    store = Store(data / FILE)
    users = store.user_count()
    store.close()
    if not local and users == 0:
        warn(t["web.cli_refuse_open"].format(host=args.host, data=data))
        return 2
    cfg = Config(data=data, lang=args.lang, scheduler=args.scheduler, local_mode=local,
                 parallel=args.parallel)
    app = create_app(cfg)
    say(t["web.cli_serving"].format(url=f"http://{args.host}:{args.port}/", data=data.resolve(),
                                     mode=t["web.cli_mode_local"] if local and not users
                                     else t["web.cli_mode_users"].format(n=users)))
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning",
                server_header=False, proxy_headers=False, timeout_graceful_shutdown=5)
    return 0
