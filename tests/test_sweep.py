"""``python -m core sweep``: results identical to ``reproduce`` alone, resumption, failures,
a real multi-process cluster on loopback, and bad input refused before anything starts.

Kept small for time: ``fig1 --quick`` (the cheapest experiment that takes ``--set``; a few
seconds, mostly start-up) swept over 3 values of g_som -- the third, 500, breaks the Euler
stability bound and fails at once -- times 2 seeds on a LocalCluster of 2 workers;
``self-prediction --quick`` over 2 values of sigma times 2 seeds there too; ``theory --quick``
(no ``--set``), 2 seeds, on the loopback cluster.
"""

import csv
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from core.cli import main
from core.sweep.summary import cell, scalars

pytest.importorskip("distributed")

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join(
    filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
SWEEP = ["fig1", "--quick", "--seeds", "0-1", "--set", "g_som=0.8,0.6,500", "--no-progress"]
FINISHING = ["0.8", "0.6"]
CHANGES_EACH_RUN = ("run_time_s",)


def core(*arguments, timeout=300):
    """``python -m core ARGUMENTS`` as a user types it."""
    return subprocess.run([sys.executable, "-m", "core", *arguments], capture_output=True,
                          text=True, env=ENV, cwd=ROOT, timeout=timeout)


def read_rows(path):
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def read_metrics(directory):
    return json.loads((Path(directory) / "metrics.json").read_text())


@pytest.fixture(scope="module")
def local_sweep(tmp_path_factory):
    """The sweep done once on a LocalCluster of 2 workers: its output, its rows as they were
    then, and the metrics.json times of its finished runs."""
    out = tmp_path_factory.mktemp("sweep") / "fig1"
    done = core("sweep", *SWEEP, "--workers", "2", "--out", str(out))
    rows = read_rows(out / "summary.csv")
    mtimes = {row["run_dir"]: os.stat(out / row["run_dir"] / "metrics.json").st_mtime_ns
              for row in rows if row["status"] == "ok"}
    return out, done, rows, mtimes


def test_summary_rows_equal_the_runs_done_alone(local_sweep, tmp_path):
    out, done, rows, _ = local_sweep
    finished = [row for row in rows if row["status"] == "ok"]
    assert sorted((row["g_som"], row["seed"]) for row in finished) == sorted(
        (value, seed) for value in FINISHING for seed in ("0", "1")), done.stderr
    # the same reproduce commands alone, side by side: for time, two of the four runs, which
    # between them have both values and both seeds
    compared = [row for row in finished if (row["g_som"], row["seed"]) in {("0.8", "0"),
                                                                            ("0.6", "1")}]
    alone = {row["run_dir"]: tmp_path / row["run_dir"] for row in compared}
    children = [subprocess.Popen(
        [sys.executable, "-m", "core", "reproduce", "fig1", "--quick", "--no-progress",
         "--seed", row["seed"], "--set", f"g_som={row['g_som']}",
         "--out", str(alone[row["run_dir"]])],
        env=ENV, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        for row in compared]
    for child in children:
        assert child.wait(timeout=300) == 0, child.stderr.read()
        child.stderr.close()
    assert len(compared) == 2
    for row in compared:
        expected = {key: cell(value) for key, value in
                    scalars(read_metrics(alone[row["run_dir"]])).items()
                    if key not in CHANGES_EACH_RUN}
        assert {key: row[key] for key in expected} == expected, row["run_dir"]
        assert float(row["wall_time_s"]) > 0


def test_a_second_experiment_swept_equals_its_runs_done_alone(tmp_path):
    """self-prediction --quick, 2 values of sigma x 2 seeds on a LocalCluster of 2 workers: every
    run finishes, and one of them (the last value, the last seed) equals the command alone."""
    out = tmp_path / "self-prediction"
    done = core("sweep", "self-prediction", "--quick", "--seeds", "0-1", "--set",
                "sigma=0.1,0.2", "--workers", "2", "--no-progress", "--out", str(out))
    assert done.returncode == 0, done.stderr
    rows = read_rows(out / "summary.csv")
    assert sorted((row["sigma"], row["seed"], row["status"]) for row in rows) == [
        (sigma, seed, "ok") for sigma in ("0.1", "0.2") for seed in ("0", "1")]
    row = next(row for row in rows if (row["sigma"], row["seed"]) == ("0.2", "1"))
    alone = tmp_path / "alone"
    by_itself = core("reproduce", "self-prediction", "--quick", "--seed", "1", "--set",
                     "sigma=0.2", "--no-progress", "--out", str(alone))
    assert by_itself.returncode == 0, by_itself.stderr
    expected = {key: cell(value) for key, value in scalars(read_metrics(alone)).items()
                if key not in CHANGES_EACH_RUN}
    assert {key: row[key] for key in expected} == expected


def test_a_failing_run_is_reported_and_the_others_finish(local_sweep):
    out, done, rows, _ = local_sweep
    assert done.returncode == 1, done.stderr
    failed = [row for row in rows if row["status"] == "failed"]
    assert [(row["g_som"], row["seed"]) for row in failed] == [("500", "0"), ("500", "1")]
    for row in failed:
        assert row["error"].startswith("python -m core: error: dt = 0.1 ms is at or beyond the "
                                       "Euler stability bound"), row["error"]
        assert not (out / row["run_dir"]).exists()
    assert "4 of 6 runs finished (0 kept), 2 failed" in done.stdout
    html = (out / "summary.html").read_text()
    assert "final_error" in html and "apical_sq_after" in html
    assert not [name for name in os.listdir(out) if name.startswith(".")]  # no temporaries


def test_a_rerun_keeps_the_finished_runs_and_redoes_the_others(local_sweep):
    out, _, _, mtimes = local_sweep
    again = core("sweep", *SWEEP, "--workers", "2", "--out", str(out))
    assert "6 runs into" in again.stderr and "4 finished earlier (kept), 2 to run" in again.stderr
    assert again.returncode == 1, again.stderr
    rows = read_rows(out / "summary.csv")
    assert sorted(row["status"] for row in rows) == ["failed"] * 2 + ["kept"] * 4
    for row in rows:
        if row["status"] == "kept":
            assert os.stat(out / row["run_dir"] / "metrics.json").st_mtime_ns \
                == mtimes[row["run_dir"]]
            assert float(row["wall_time_s"]) > 0  # the first sweep's, kept beside the run


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_port(port, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise TimeoutError(f"nothing listens on port {port} after {seconds} s")


def test_a_sweep_runs_on_a_multi_process_cluster_on_loopback(tmp_path):
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    dask = [sys.executable, "-m", "dask"]
    processes = []
    try:
        processes.append(subprocess.Popen(
            [*dask, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
            env=ENV, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        wait_for_port(port, 60)
        for _ in range(2):
            processes.append(subprocess.Popen(
                [*dask, "worker", address, "--nthreads", "1", "--no-dashboard"],
                env=ENV, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        done = core("sweep", "theory", "--quick", "--seeds", "0,1", "--no-progress",
                    "--scheduler", address, "--out", str(tmp_path / "theory"))
        assert done.returncode == 0, done.stderr
        rows = read_rows(tmp_path / "theory" / "summary.csv")
        assert [(row["seed"], row["status"]) for row in rows] == [("0", "ok"), ("1", "ok")]
        metrics = read_metrics(tmp_path / "theory" / "theory-quick-seed1")
        assert rows[1]["angles_deg.transpose_at_weakest_feedback_max"] == cell(
            metrics["angles_deg"]["transpose_at_weakest_feedback_max"])
    finally:
        for process in reversed(processes):
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.mark.parametrize("arguments, message", [
    (["fig9"], "argument experiment: invalid choice: 'fig9'"),
    (["fig1", "--set", "nope=1,2"], "unknown parameter 'nope'"),
    (["fig1", "--set", "g_som=0.5,2000"], "parameter 'g_som' = 2000.0 is out of range"),
    (["fig1", "--set", "theta=1,x"], "theta='x': must be a number"),
    (["fig1", "--set", "theta="], "theta='': must be a number"),
    (["fig1", "--seeds", "9-0"], "'9-0': the range '9-0' is empty"),
    (["fig1", "--seeds", "a"], "'a': expected seeds such as 0-9, 3 or 0,2,5"),
    (["fig1", "--seeds", ""], "'': expected seeds such as 0-9, 3 or 0,2,5"),
    (["fig1", "--seeds", "1,1"], "seed 1 is listed twice"),
    (["theory", "--set", "theta=0,1"],
     "--set applies to self-prediction, fig1, fig2 only, not to 'theory'"),
    (["classification", "--regime", "paper"],
     "--regime applies to self-prediction, fig1, fig2 only, not to 'classification'"),
])
def test_bad_input_is_refused_in_one_line_before_anything_starts(arguments, message, tmp_path,
                                                                 capsys):
    out = tmp_path / "never"
    with pytest.raises(SystemExit) as stopped:
        main(["sweep", *arguments, "--out", str(out)])
    assert stopped.value.code == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]
    # argparse names the sub-command when one of its arguments is wrong
    assert error.startswith("python -m core") and ": error: " in error and message in error, error
    assert not out.exists()


def test_values_that_would_share_a_run_directory_are_refused(tmp_path, capsys):
    assert main(["sweep", "fig1", "--set", "theta=0,0.0", "--out", str(tmp_path / "x")]) == 2
    assert capsys.readouterr().err.strip() == (
        "python -m core: error: --set theta: the values '0' and '0.0' would share the run "
        "directory fig1-theta=0-seedN; list each value once (run names keep 6 significant "
        "digits)")


def test_an_unreachable_scheduler_fails_within_10_s_naming_it(tmp_path):
    address = f"tcp://127.0.0.1:{free_port()}"  # free: nothing listens there
    start = time.monotonic()
    done = core("sweep", "theory", "--quick", "--scheduler", address, "--out",
                str(tmp_path / "never"))
    assert time.monotonic() - start < 10
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"python -m core: error: --scheduler {address}: no Dask scheduler answered within 5 s "
        f"(OSError: Timed out trying to connect to {address} after 5 s)"]
    assert not (tmp_path / "never").exists()


@pytest.mark.parametrize("results_in_place", [True, False])
def test_a_run_interrupted_once_its_results_were_in_place_has_finished(results_in_place,
                                                                       tmp_path, monkeypatch):
    """A Ctrl-C that reaches ``reproduce`` after it moved its results into place (while it prints
    its summary, or exits) ends it with code 130 and "kept the complete results": the sweep counts
    that run as finished, as a rerun would. Interrupted before, it is cancelled."""
    from core.sweep import task

    directory = tmp_path / "run"
    directory.mkdir()
    writes = f"open({str(directory / 'metrics.json')!r}, 'w').write('{{\"seed\": 3}}'); " \
        if results_in_place else ""
    child = [sys.executable, "-c", f"import sys; {writes}sys.exit({task.INTERRUPTED})"]
    popen = subprocess.Popen
    monkeypatch.setattr(subprocess, "Popen", lambda command, **options: popen(child, **options))
    outcome = task.run_reproduce(["fig1", "--out", str(directory)], str(directory))
    if results_in_place:
        assert outcome["status"] == "ok" and outcome["metrics"] == {"seed": 3}
        assert (directory / task.RUN_RECORD).is_file()
    else:
        assert outcome["status"] == "cancelled" and outcome["metrics"] is None


def test_ctrl_c_stops_every_run_keeps_the_finished_ones_and_leaves_no_partial_file(tmp_path):
    """A terminal's Ctrl-C reaches the sweep's whole process group (the sweep, its workers and
    their reproduce runs): exit code 130, the summary lists the runs that finished (each with its
    metrics.json), no temporary or staging file is left, and no process of the group lives on."""
    import signal

    out = tmp_path / "interrupted"
    sweep = subprocess.Popen(
        [sys.executable, "-m", "core", "sweep", "fig1", "--quick", "--seeds", "0-9",
         "--workers", "2", "--out", str(out), "--no-progress"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV, cwd=ROOT,
        start_new_session=True)  # its own process group, as a terminal's foreground job
    try:
        deadline = time.monotonic() + 120
        # the first run has finished: its metrics.json is in the run's directory, not only in
        # the hidden staging directory it is written into before the figure and the move
        while not [path for path in out.glob("*/metrics.json")
                   if not path.parent.name.startswith(".")]:
            assert sweep.poll() is None, sweep.communicate()
            assert time.monotonic() < deadline, "no run finished within 120 s"
            time.sleep(0.2)
        os.killpg(sweep.pid, signal.SIGINT)
        _, stderr = sweep.communicate(timeout=60)
    finally:
        if sweep.poll() is None:
            os.killpg(sweep.pid, signal.SIGKILL)
    assert sweep.returncode == 130, stderr
    assert "interrupted" in stderr.splitlines()[-1], stderr
    assert (out / "summary.csv").is_file(), stderr
    rows = read_rows(out / "summary.csv")
    assert 1 <= len(rows) < 10 and all(row["status"] == "ok" for row in rows), rows
    for row in rows:
        assert (out / row["run_dir"] / "metrics.json").is_file()
    leftovers = [p for p in out.rglob("*") if p.name.startswith(".") or p.name.endswith(".part")]
    assert not leftovers, leftovers
    deadline = time.monotonic() + 15
    while True:  # the workers and runs go with the sweep
        try:
            os.killpg(sweep.pid, 0)
        except ProcessLookupError:
            break
        assert time.monotonic() < deadline, "processes of the sweep outlived it"
        time.sleep(0.2)
