"""The workbench: ``emgis serve``, emgis in the browser for the planner who never opens a
terminal.

A Starlette application (:mod:`emgis.web.app`) over the same engine as the command: projects
are district folders under the data folder (``--data``), made from uploaded ledgers by
:func:`emgis.inputs.init.init_district`; runs execute :mod:`emgis.run.jobs` in worker
processes (:mod:`emgis.web.runner`, never in the web process) and keep their outputs under
``PROJECT/runs/<timestamp>/`` with the manifest; projects, runs, users and sessions live in
one SQLite file (:mod:`emgis.web.store`). Security measures are in :mod:`emgis.web.security`.

Nothing here is imported by ``import emgis``: the web stack (Starlette, uvicorn) loads only
when ``emgis serve`` runs.
"""
