"""Ctrl-C in a long sweep, as a terminal sends it: SIGINT to the whole process group of a real
`batchsim sweep` subprocess. It stops within seconds, exits 130, keeps every finished run, says
how many, and leaves no worker behind; a worker that dies is one clear line."""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from batchsim.measure.executors import Executor, ExecutorError
from batchsim.measure.runs import RunSpec, resolved_json
from batchsim.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[2]
SCENARIO = ROOT / "scenarios" / "azure-llm-trace.yaml"


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.parametrize("presses", [1, 2])
def test_ctrl_c_stops_a_sweep_keeps_finished_runs_and_leaves_no_worker(tmp_path: Path, presses: int) -> None:
    out = tmp_path / "out"
    command = [sys.executable, "-m", "batchsim", "sweep", str(SCENARIO), "--grid", "duration=4h", "--seeds", "40"]
    command += ["--workers", "2", "--no-records", "--out", str(out)]
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    deadline = time.monotonic() + 60
    while not list(out.glob("runs/*/sweep.json")):
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "no run finished within 60 s"
        time.sleep(0.05)
    for press in range(presses):
        if press:
            time.sleep(0.2)
        os.killpg(process.pid, signal.SIGINT)  # a terminal sends Ctrl-C to the foreground group
    pressed = time.monotonic()
    try:
        _, stderr = process.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        raise
    took_s = time.monotonic() - pressed
    assert process.returncode == 130, stderr
    saved = len(list(out.glob("runs/*/sweep.json")))
    assert f"interrupted: {saved} of 40 runs saved" in stderr
    assert 0 < saved < 40 and "Traceback" not in stderr
    assert took_s < 10
    for _ in range(50):  # the forkserver notices its parent is gone within moments
        if not _group_alive(process.pid):
            break
        time.sleep(0.1)
    assert not _group_alive(process.pid), "worker processes outlived the sweep"
    if presses == 1:  # and the sweep resumes from there
        resumed = [*command[:-6], "2", "--workers", "2", "--no-records", "--format", "json", "--out", str(out)]
        again = subprocess.run(resumed, capture_output=True, text=True)
        assert again.returncode == 0, again.stderr


@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGKILL])
def test_workers_end_when_the_sweep_itself_is_killed(tmp_path: Path, how: signal.Signals) -> None:
    """`kill PID`, a CI job's timeout or the OOM killer ends the main process alone: its workers and
    the forkserver must not wait on their queues forever."""
    out = tmp_path / "out"
    command = [sys.executable, "-m", "batchsim", "sweep", str(SCENARIO), "--grid", "duration=4h", "--seeds", "40"]
    command += ["--workers", "2", "--no-records", "--out", str(out)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 60
    while not list(out.glob("runs/*/sweep.json")):
        assert process.poll() is None
        assert time.monotonic() < deadline, "no run finished within 60 s"
        time.sleep(0.05)
    os.kill(process.pid, how)  # the main process only, not its group
    process.wait(timeout=15)
    for _ in range(100):
        if not _group_alive(process.pid):
            break
        time.sleep(0.1)
    alive = _group_alive(process.pid)
    if alive:
        os.killpg(process.pid, signal.SIGKILL)
    assert not alive, "workers outlived the process that owned them"


def test_a_killed_local_worker_is_one_clear_error() -> None:
    text = resolved_json(load_scenario(SCENARIO, ["duration=24h"]))
    with pytest.raises(ExecutorError, match="a worker process died"), Executor(workers=2) as executor:
        for number, _ in enumerate(executor.run(RunSpec(text, seed) for seed in range(1, 30))):
            if number == 0:
                victim = multiprocessing.active_children()[0]
                os.kill(victim.pid, signal.SIGKILL)  # what the kernel's OOM killer does


def test_dask_without_workers_times_out_with_a_message() -> None:
    distributed = pytest.importorskip("distributed")
    with (
        distributed.LocalCluster(n_workers=0, processes=True, dashboard_address=":0") as cluster,
        pytest.raises(ExecutorError, match="no Dask worker joined"),
    ):
        Executor("dask", scheduler=cluster.scheduler_address, wait_s=1)


def test_dask_scheduler_from_the_environment_and_workers_leaving(monkeypatch: pytest.MonkeyPatch) -> None:
    distributed = pytest.importorskip("distributed")
    text = resolved_json(load_scenario(SCENARIO, ["duration=24h"]))
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster:
        monkeypatch.setenv("DASK_SCHEDULER_ADDRESS", cluster.scheduler_address)
        with Executor("dask") as executor:
            assert executor.scheduler == cluster.scheduler_address
            with pytest.raises(ExecutorError, match=r"left the scheduler|Dask workers died"):
                for number, _ in enumerate(executor.run(RunSpec(text, seed) for seed in range(1, 40))):
                    if number == 0:
                        cluster.scale(0)
