"""The ``emgis`` command: a thin shell over the Python API (:func:`emgis.open`,
:mod:`emgis.run.jobs`).

Subcommands: ``init``, ``validate``, ``network``, ``coverage``, ``check``, ``scenario``, ``site``,
``run`` and ``standards``. ``-v``/``-q`` work before or after the subcommand. Exit codes: 0 success,
2 the input (district, options or output folder) has errors, all of them printed; 1 an internal
error (``-v`` shows its traceback).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import logging
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NoReturn

from emgis._errors import EmgisError, ValidationError
from emgis._gc import frozen_heap
from emgis._version import __version__
from emgis.inputs.standards import SITING_KIND_ALIASES
from emgis.texts import Msg, say

if TYPE_CHECKING:

    pass
from emgis._console import Console, _LogFormatter
from emgis.commands import (
    cmd_batch,
    cmd_calibrate,
    cmd_check,
    cmd_compare,
    cmd_coverage,
    cmd_init,
    cmd_network,
    cmd_run,
    cmd_scenario,
    cmd_serve,
    cmd_site,
    cmd_standards,
    cmd_validate,
)

log = logging.getLogger("emgis")

#: The language argparse's own errors are told in (set by :func:`main` from ``--lang``).
_ARG_LANG = "en"

#: argparse's messages a planner can meet, in Chinese (argparse looks them up through
#: ``argparse._``, gettext's function, which :func:`main` replaces while it parses).
_ARGPARSE_ZH = {
    "argument %(argument_name)s: %(message)s": "参数 %(argument_name)s：%(message)s",
    "the following arguments are required: %s": "缺少必需的参数：%s",
    "invalid choice: %(value)r (choose from %(choices)s)":
        "无效的选项 %(value)r（可选：%(choices)s）",
    "unrecognized arguments: %s": "无法识别的参数：%s",
    "expected one argument": "需要一个值",
    "invalid %(type)s value: %(value)r": "无效的值 %(value)r",
    "ambiguous option: %(option)s could match %(matches)s":
        "选项 %(option)s 有歧义，可能是 %(matches)s",
    "not allowed with argument %s": "不能与参数 %s 同时使用",
    "one of the arguments %s is required": "参数 %s 中必须给出一个",
    "expected at most one argument": "最多一个值",
    "expected at least one argument": "至少一个值",
    "ignored explicit argument %r": "多余的值 %r",
}


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are told in the language of ``--lang``."""

    def error(self, message: str) -> NoReturn:
        if _ARG_LANG == "zh":
            self.exit(2, say(Msg("cli_usage_error", prog=self.prog, message=message), "zh")
                      + "\n")
        super().error(message)


def _arg_error(key: str, **values: Any) -> argparse.ArgumentTypeError:
    return argparse.ArgumentTypeError(say(Msg(key, **values), _ARG_LANG))


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise _arg_error("arg_positive_int", v=text) from None
    if value < 1:
        raise _arg_error("arg_positive_int", v=text)
    return value


def _date(text: str) -> Any:

    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise _arg_error("arg_date", v=text) from None


def _yuan(text: str) -> float:
    """An amount of yuan >= 0: ``900000``, ``900,000``, ``90万`` (x 10,000), ``1.2亿``, ``元``
    after it allowed."""
    t = text.strip().replace(",", "").replace("_", "").replace("，", "").removesuffix("元")
    scale = 1.0
    for unit, factor in (("万", 1e4), ("亿", 1e8)):
        if t.endswith(unit):
            t, scale = t[:-1], factor
    try:
        value = float(t) * scale
    except ValueError:
        raise _arg_error("arg_yuan", v=text) from None
    if not (value >= 0 and value < float("inf")):
        raise _arg_error("arg_yuan", v=text)
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise _arg_error("arg_seconds", v=text) from None
    if not value >= 0:
        raise _arg_error("arg_seconds", v=text)
    return value


def _common() -> _Parser:
    """-v/-q, accepted before or after the subcommand."""
    p = _Parser(add_help=False)
    p.add_argument("-v", "--verbose", action="count", default=argparse.SUPPRESS,
                   help="more logging (-vv: debug)")
    p.add_argument("-q", "--quiet", action="store_true", default=argparse.SUPPRESS,
                   help="print only warnings and errors")
    return p


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``emgis`` command."""
    # deferred: loads networkx, numba, scipy.optimize
    from emgis.locate import METHODS, MODELS, OBJECTIVES

    common = _common()
    parser = _Parser(
        prog="emgis", parents=[common],
        description="Grassroots emergency response coverage planner.",
    )
    parser.add_argument("--version", action="version", version=f"emgis {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, func: Any, text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=text, description=text, parents=[common])
        p.set_defaults(func=func)
        return p

    def district(p: argparse.ArgumentParser) -> None:
        p.add_argument("district", help="district folder with district.toml")

    def out(p: argparse.ArgumentParser) -> None:
        p.add_argument("--out", default="maps", help="output folder (default: maps)")

    def lang(p: argparse.ArgumentParser) -> None:
        p.add_argument("--lang", choices=("en", "zh"), default="en",
                       help="language of the console, tables, maps and reports (default: en)")

    def plan(p: argparse.ArgumentParser) -> None:
        p.add_argument("--plan", metavar="FILE",
                       help="a plan exported from a siting page (CSV or GeoJSON): its sites "
                       "are built and the units it closes removed before the analysis")

    def as_of(p: argparse.ArgumentParser) -> None:
        p.add_argument("--as-of", type=_date, default=None, metavar="DATE",
                       help="report date drills are dated against, e.g. 2025-06-30 "
                       "(default: today)")

    def candidates(p: argparse.ArgumentParser) -> None:
        p.add_argument("--candidates", choices=("all", "listed"), default=None,
                       help="listed: site only among [layers.candidates] (overrides [siting] "
                       "candidates; the other candidates are listed as excluded)")

    def no_cache(p: argparse.ArgumentParser) -> None:
        p.add_argument("--no-cache", action="store_true",
                       help="rebuild the road network from the road file, ignoring its cache")

    p = add("validate", cmd_validate, "check a district folder and print a summary")
    district(p)
    lang(p)
    p = add("network", cmd_network, "build the road network and print its summary")
    district(p)
    lang(p)
    no_cache(p)
    p = add("coverage", cmd_coverage, "response times, coverage and gaps, with a map")
    district(p)
    plan(p)
    out(p)
    lang(p)
    no_cache(p)
    p.add_argument("--per-unit-areas", action="store_true",
                   help="also each unit's own service areas (slow at county size)")
    p = add("check", cmd_check, "check the organisational minimums, township by township")
    district(p)
    out(p)
    lang(p)
    as_of(p)
    p = add("scenario", cmd_scenario, "hazard scenarios: closed roads, lost cover, evacuation")
    district(p)
    plan(p)
    out(p)
    p.add_argument("--name", action="append", help="a scenario of district.toml (repeatable; "
                   "default: all of them)")
    p.add_argument("--hazard", action="append", help="hazard id or name: one scenario of "
                   "these hazards (repeatable)")
    lang(p)
    no_cache(p)
    p = add("site", cmd_site, "where new units of a kind do the most good")
    district(p)
    plan(p)
    kinds = sorted(set(SITING_KIND_ALIASES.values()))
    p.add_argument("--kind", required=True, action="append",
                   help="the kind of unit to site: " + ", ".join(kinds)
                   + " (Chinese names accepted, e.g. 微型消防站); repeatable with --budget: "
                   "several kinds within one budget")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--add", type=_positive_int, default=None,
                   help="number of new sites, >= 1 (default 3)")
    g.add_argument("--cover-all", action="store_true",
                   help="the fewest sites covering every reachable village")
    g.add_argument("--budget", type=_yuan, default=None, metavar="YUAN",
                   help="the sites of the --kind(s) covering the most persons for this many "
                   "yuan (900000, 900,000 or 90万), each candidate at its cost ([costs] of the "
                   "standards, reused buildings x reuse_factor, a candidate's own cost)")
    p.add_argument("--kind-weight", action="append", default=[], metavar="KIND=W",
                   help="with --budget: what a person newly covered by KIND counts (default "
                   "1 for every kind; repeatable)")
    candidates(p)
    p.add_argument("--model", choices=MODELS, default="max_covering")
    p.add_argument("--robust", choices=OBJECTIVES, default=None,
                   help="choose the sites over the baseline and the district's scenarios "
                   "together: worst (the worst scenario best served), expected (most persons "
                   "on average; --scenario-weights) or k_of_n (most persons covered in at "
                   "least --k scenarios)")
    p.add_argument("--k", type=_positive_int, default=None,
                   help="for --robust k_of_n (default: all scenarios but one)")
    p.add_argument("--over-samples", action="store_true",
                   help="choose the sites for the most persons within target on average over "
                   "samples of road speeds and turnout ([uncertainty]; the calibration's "
                   "ranges where the district has dispatch records)")
    p.add_argument("--scenario-weights", default=None, metavar="W0,W1,...",
                   help="for --robust expected: a weight per scenario, the baseline first "
                   "(default equal)")
    p.add_argument("--capacity", type=float, help="persons a new site can serve "
                   "(capacitated_covering)")
    p.add_argument("--force-rule", choices=("township", "village"), default=None,
                   help="choose the sites for the most persons with a sufficient force "
                   "arriving in time, not only a first unit: township ([minimums] "
                   "township_rescue_team_headcount, 30 persons, within the township rescue "
                   "team's target) or village (village_team_headcount, 15, within the village "
                   "team's target)")
    p.add_argument("--headcount", type=float, default=None, metavar="PERSONS",
                   help="with --force-rule: persons of each new team (default the standards' "
                   "minimum for the kind, e.g. 30 for township_rescue_team)")
    p.add_argument("--first-weight", type=float, default=None, metavar="W",
                   help="with --force-rule: what a person newly within the kind's target "
                   "(first arrival) counts beside one newly with a sufficient force (default "
                   "0: force only)")
    p.add_argument("--method", choices=METHODS, default="auto",
                   help="auto (default: exact while small, the heuristic with its proven "
                   "bound above), milp (exact) or heuristic")
    p.add_argument("--time-limit", type=_seconds, default=300.0, metavar="SECONDS",
                   help="for the exact solver; when reached, the better of its best solution "
                   "and the heuristic's is kept, with the proven bound (default 300)")
    out(p)
    lang(p)
    no_cache(p)
    p = add("run", cmd_run, "run the whole job and write maps, tables and the report")
    district(p)
    plan(p)
    candidates(p)
    out(p)
    lang(p)
    as_of(p)
    no_cache(p)
    p.add_argument("--per-unit-areas", action="store_true",
                   help="also each unit's own service areas (slow at county size)")
    p.add_argument("--time-limit", type=_seconds, default=60.0, metavar="SECONDS",
                   help="for each exact siting solve (default 60)")
    p = add("calibrate", cmd_calibrate, "fit road speeds and turnout to the dispatch records "
            "of [layers.calls]: model against recorded minutes, calibration.toml")
    district(p)
    out(p)
    lang(p)
    no_cache(p)
    p = add("batch", cmd_batch, "run every district of a province on Dask and add the "
            "results up (province.xlsx, province_report.html)")
    p.add_argument("province", help="a folder of district folders, or a province.toml")
    out(p)
    lang(p)
    as_of(p)
    p.add_argument("--workers", type=_positive_int, default=2,
                   help="worker processes of the local Dask cluster (default 2)")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="run on an existing Dask cluster (tcp://host:8786); its workers must "
                   "have emgis installed and see the same paths")
    p.add_argument("--memory-limit", default="auto", metavar="SIZE",
                   help="per worker of the local cluster, e.g. 4GB (default: the machine's "
                   "memory shared)")
    p.add_argument("--time-limit", type=_seconds, default=60.0, metavar="SECONDS",
                   help="for each exact siting solve (default 60)")
    p = add("compare", cmd_compare, "this year against last: what changed between two "
            "finished output folders of emgis run or coverage (in either language)")
    p.add_argument("old", help="the earlier output folder")
    p.add_argument("new", help="the later output folder")
    p.add_argument("--out", required=True, help="output folder of the comparison")
    lang(p)
    p = add("standards", cmd_standards, "print every default of the standards profile with "
            "its source")
    lang(p)
    p.add_argument("--markdown", action="store_true", help="as a Markdown table")
    p = add("init", cmd_init, "write district.toml from the ledgers and files of a folder, "
            "with comments saying what was recognised, then check it")
    p.add_argument("folder", help="a folder of ledgers (.xlsx, .xls, .csv) and GIS files")
    lang(p)
    p.add_argument("--force", action="store_true",
                   help="replace an existing district.toml")
    p = add("serve", cmd_serve, "the workbench: emgis in the browser (projects, runs, maps, "
            "what-if, hazards); `emgis serve adduser NAME` adds a user")
    p.add_argument("action", nargs="?", choices=("adduser",), default=None,
                   help="adduser: add a user (password asked twice, or EMGIS_PASSWORD)")
    p.add_argument("name", nargs="?", default=None, help="with adduser: the user's name")
    p.add_argument("--data", default=None, metavar="DIR",
                   help="the data folder: one district folder a project, and the store "
                   "workbench.sqlite (default: emgis-data)")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1: this machine only; any "
                   "other address needs users)")
    p.add_argument("--port", type=_positive_int, default=8000)
    p.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="run on an existing Dask cluster (tcp://host:8786) that sees --data "
                   "at the same path (default: worker processes on this machine)")
    p.add_argument("--parallel", type=_positive_int, default=2,
                   help="runs at once (one per project; default 2)")
    p.add_argument("--admin", action="store_true", help="with adduser: an administrator")
    p.add_argument("--projects", default=None, metavar="A,B",
                   help="with adduser: the projects (folder names) the user may open")
    lang(p)
    return parser


#: Commands whose process leaves at once when done (:func:`entry`): the ones holding a
#: district's network and results in memory. ``serve`` and ``batch`` own other processes
#: and threads, and leave as Python does.
LEAVE_AT_ONCE = frozenset({"validate", "network", "coverage", "check", "scenario", "site",
                           "run", "calibrate", "compare", "init", "standards"})

#: The command :func:`main` ran last (for :func:`entry`).
_RAN: list[str] = []


def entry() -> NoReturn:
    """The ``emgis`` program: :func:`main`, then the process ends.

    After a command of :data:`LEAVE_AT_ONCE` has written its files and its last line, the
    process runs the exit handlers (``atexit``: logging's flush, temporary folders) and
    flushes its output, then ends without tearing down its objects one by one: a county's
    run holds about a gigabyte of them, and the interpreter's teardown took 0.4-0.5 s of a
    15 s run. The files are the same; :func:`main` itself (tests, scripts) returns as
    usual, and so does the process under a profiler or tracer.
    """
    # one OpenBLAS thread unless asked otherwise: emgis's matrix products are small, and a
    # run's processes already fill the cores; OpenBLAS's idle threads spun after each product
    # (1.1% of a county run's CPU samples, `perf`). Set before numpy and scipy load it.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    code = main()
    # under a profiler or tracer (cProfile, coverage) the process leaves as Python does, so
    # that they write what they found
    if _RAN and _RAN[-1] in LEAVE_AT_ONCE and sys.getprofile() is None \
            and sys.gettrace() is None:
        import atexit

        atexit._run_exitfuncs()
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(OSError, ValueError):
                stream.flush()
        os._exit(code)
    sys.exit(code)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``emgis`` command; returns the exit code."""
    global _ARG_LANG
    given = list(sys.argv[1:] if argv is None else argv)
    lang = next((given[i + 1] for i, a in enumerate(given[:-1]) if a == "--lang"), None) or \
        next((a.split("=", 1)[1] for a in given if a.startswith("--lang=")), "en")
    parser = build_parser()
    _ARG_LANG, gettext_ = ("zh" if lang == "zh" else "en"), argparse._  # type: ignore[attr-defined]
    if _ARG_LANG == "zh":
        argparse._ = lambda text: _ARGPARSE_ZH.get(text, text)  # type: ignore[attr-defined]
    try:
        args = parser.parse_args(given)
    finally:
        argparse._ = gettext_  # type: ignore[attr-defined]
        _ARG_LANG = "en"
    quiet = bool(getattr(args, "quiet", False))
    verbose = int(getattr(args, "verbose", 0) or 0)
    level = logging.ERROR if quiet else (logging.DEBUG if verbose > 1 else logging.INFO
                                         if verbose else logging.WARNING)
    con = Console(quiet=quiet, lang=getattr(args, "lang", "en"))
    handler = logging.StreamHandler()
    handler.setFormatter(_LogFormatter(con.t))
    logging.basicConfig(level=level, handlers=[handler], force=True)
    _RAN[:] = [str(getattr(args, "command", ""))]
    try:
        with frozen_heap():  # what the command freezes, back in the collections at its end
            return int(args.func(args, con))
    except ValidationError as exc:
        if not getattr(exc, "shown", False):  # problems of a file read after validation
            errors = [p for p in exc.problems if p.level == "error"]
            con.warn(con.fmt("cli.problems", errors=len(errors),
                             warnings=len(exc.problems) - len(errors)))
            for p in exc.problems:
                con.warn("  " + p.say(con.t))
        con.warn(con.t["cli.stopped"])
        return 2
    except EmgisError as exc:
        con.warn(con.fmt("cli.error", message=say(exc, con.t)))
        return 2
    except KeyboardInterrupt:
        con.warn(con.t["cli.interrupted"])
        return 130
    except BrokenPipeError:
        # the reader of a pipe (`emgis validate ... | head`) stopped reading: end quietly, as
        # the Python documentation advises (stdout pointed at devnull so the interpreter's
        # final flush does not fail again)
        with contextlib.suppress(OSError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        return 0
    except Exception as exc:
        if verbose:
            raise
        con.warn(Msg("internal_error", error=f"{type(exc).__name__}: {exc}"))
        return 1


if __name__ == "__main__":
    entry()
