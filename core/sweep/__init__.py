"""``python -m core sweep``: many ``reproduce`` runs -- seeds times parameter values -- in
parallel on a Dask cluster, resumable, summarised in one table and one page.

* :mod:`~core.sweep.plan` -- reading ``--seeds`` and ``--set NAME=V1,V2``, the runs to do;
* :mod:`~core.sweep.task` -- one run in a fresh ``python -m core reproduce`` process (on a worker);
* :mod:`~core.sweep.engine` -- the Dask client and cluster, the progress bar, Ctrl-C;
* :mod:`~core.sweep.summary` -- ``summary.csv`` and ``summary.html``;
* :mod:`~core.sweep.command` -- the command line that ties them together.

Dask (``pip install -e ".[sweep]"``) is imported only when a sweep starts.
"""
