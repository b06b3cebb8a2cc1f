"""Where simulation runs execute: one pool of local processes, or a Dask cluster, per command.

An `Executor` is created once for a whole sweep, search or comparison and reused for every batch
of runs, so workers start (and import batchsim) once. Runs are plain, picklable `RunSpec`s
(`batchsim.measure.runs`) that carry the resolved scenario as JSON text, never a path, so a Dask
worker needs no shared disk; each yields `(spec, outcome)` as it finishes, and results are identical
whichever executor runs them.

Stopping (Ctrl-C): workers ignore SIGINT, so an interrupt reaches only the main process; `stop()`
sets an event every local worker polls between steps of its run (the engine's progress callback),
drops the queued runs and waits for the workers to exit, which takes a fraction of one run.
"""

from __future__ import annotations

import asyncio
import concurrent.futures as cf
import functools
import gc
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Iterable, Iterator
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from batchsim.measure.kinds import ExecutorKind
from batchsim.measure.runs import RunOutcome, RunSpec, with_formula

__all__ = [
    "SCHEDULER_ENV",
    "Executor",
    "ExecutorError",
    "ExecutorKind",
    "run_one",
]

SCHEDULER_ENV = "DASK_SCHEDULER_ADDRESS"


class ExecutorError(RuntimeError):
    """An executor that cannot be used or stopped working (scheduler unreachable, workers died)."""


class _Stopped(Exception):
    """Raised inside a worker's run when the executor is stopping."""


_STOP: Any = None  # the stop event, in a worker process


def _init_worker(stop: Any, owner_pid: int) -> None:
    global _STOP
    _STOP = stop
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the main process decides what an interrupt does
    threading.Thread(target=_exit_with_owner, args=(owner_pid,), name="owner-watch", daemon=True).start()


def _exit_with_owner(owner_pid: int, every_s: float = 1.0) -> None:
    """End this worker once the process that owns the pool is gone (killed by SIGTERM, SIGKILL, the
    OOM killer): a pool worker waits on its task queue forever otherwise, and the forkserver with it."""
    while _alive(owner_pid):
        time.sleep(every_s)
    os._exit(1)


def _alive(pid: int) -> bool:
    """Whether `pid` is a running process (a zombie, dead but not yet reaped, is not)."""
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):  # gone, or the pid now belongs to another user
        return False
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return stat.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except OSError:  # no /proc (macOS): kill(0) is all there is
        return True


def _check_stop(_t: float) -> None:
    if _STOP is not None and _STOP.is_set():
        raise _Stopped


@functools.lru_cache(maxsize=64)
def _scenario(text: str) -> Any:
    """A resolved scenario, parsed once per worker (every candidate of a search shares it)."""
    from batchsim.scenario import Scenario

    return Scenario.model_validate_json(text)


@functools.lru_cache(maxsize=16)
def _workload(text: str, seed: int) -> Any:
    """The workload of a resolved scenario and seed, built once per worker.

    Every candidate of a search runs on the same seeds (common random numbers), so it is the same
    workload each time; the engine does not mutate the one it is given. What is cached is then
    moved out of the cycle collector's sight (`gc.freeze`): each run ends with a collection over
    everything alive, and walking the cached workloads again and again took a tenth of a run on
    the 50-node day (153 → 132 ms).
    """
    from batchsim.pipeline import scenario_workload

    workload = scenario_workload(_scenario(text), seed)
    if _STOP is not None:  # only in a pool's worker: never freeze the objects of a caller's session
        gc.collect()  # garbage left by earlier runs must not be frozen with it
        gc.freeze()
    return workload


@functools.lru_cache(maxsize=64)
def _program(text: str, strict: bool) -> Any:
    """A formula compiled once per worker: a search runs each candidate's formula on every seed and
    member (a program holds no state between runs). None for a formula that does not compile:
    `simulate` compiles it again and says where it is wrong."""
    from batchsim.formula.compiler import FormulaError, compile

    try:
        return compile(text, strict=strict)
    except FormulaError:
        return None


def run_one(spec: RunSpec) -> RunOutcome:
    """Simulate one run (executes in a worker process, or in the caller's for one worker)."""
    from batchsim.collector import collector_paused
    from batchsim.pipeline import simulate

    _check_stop(0.0)
    scenario = _scenario(spec.scenario)
    if spec.formula is not None:
        scenario = with_formula(scenario, spec.formula)
    progress = _check_stop if _STOP is not None else None
    text, autoscale = scenario.formula_text(), scenario.pool.autoscale
    program = _program(text, autoscale.strict) if text is not None and autoscale is not None else None
    # Paused until the run is dropped: reference counting frees it then, and the collector, back
    # on, does not walk a run that is about to go (a tenth of a run on the 50-node day).
    with collector_paused():
        workload = _workload(spec.scenario, spec.seed)
        result = simulate(scenario, spec.seed, progress, workload=workload, program=program)
        outcome = RunOutcome(result.summary, result if spec.records else None)
        del result
    return outcome


def _context() -> multiprocessing.context.BaseContext:
    """forkserver where there is one: workers fork from a clean server with batchsim imported.

    (fork would copy the caller's threads, such as a progress bar's; spawn re-imports everything.)
    """
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["batchsim.measure.executors", "batchsim.pipeline", "batchsim.scenario"])
        return context
    return multiprocessing.get_context("spawn")


class Executor:
    """A pool of workers for one command: `with Executor(...) as ex: for spec, out in ex.run(specs): ...`.

    kind local: `workers` processes (default: the CPU count; 1 runs in this process). kind dask: a
    client of the scheduler at `scheduler` (default: $DASK_SCHEDULER_ADDRESS) that waits up to
    `wait_s` for a worker to join.
    """

    def __init__(
        self,
        kind: ExecutorKind | str = ExecutorKind.local,
        *,
        scheduler: str | None = None,
        workers: int | None = None,
        wait_s: float = 30.0,
    ) -> None:
        self.kind = ExecutorKind(kind)
        self._pool: cf.Executor | None = None
        self._client: Any = None
        self._stop: Any = None
        self._inflight: set[cf.Future[RunOutcome]] = set()
        if self.kind is ExecutorKind.local:
            self.workers = max(1, workers or os.cpu_count() or 1)
            if self.workers > 1:
                context = _context()
                self._stop = context.Event()
                self._pool = cf.ProcessPoolExecutor(
                    self.workers, mp_context=context, initializer=_init_worker, initargs=(self._stop, os.getpid())
                )
        else:
            self.scheduler = scheduler or os.environ.get(SCHEDULER_ENV)
            self._client = _dask_client(self.scheduler, wait_s)
            self._pool = self._client.get_executor(pure=False)
            self.workers = max(1, sum(self._client.nthreads().values()))

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if exc_info[1] is not None:
            self.stop()
        else:
            self.close()

    def run(self, specs: Iterable[RunSpec]) -> Iterator[tuple[RunSpec, RunOutcome]]:
        """Run `specs`, yielding each `(spec, outcome)` as it finishes (in no particular order)."""
        specs = list(specs)
        if self._pool is None:
            for spec in specs:
                yield spec, run_one(spec)
            return
        futures = {self._pool.submit(run_one, spec): spec for spec in specs}
        self._inflight.update(futures)
        pending = set(futures)
        finished = 0
        try:
            while pending:
                done, pending = cf.wait(pending, timeout=2.0, return_when=cf.FIRST_COMPLETED)
                if not done:
                    self._check_alive(finished, len(specs))
                for future in done:
                    self._inflight.discard(future)
                    outcome = self._result(future, finished, len(specs))
                    finished += 1
                    yield futures[future], outcome
        finally:
            for future in pending:
                future.cancel()
                self._inflight.discard(future)

    def _result(self, future: cf.Future[RunOutcome], finished: int, total: int) -> RunOutcome:
        try:
            return future.result()
        except BrokenProcessPool:
            raise ExecutorError(
                f"a worker process died (killed, or out of memory); {finished} of {total} runs of this batch finished"
            ) from None
        except Exception as exc:
            if type(exc).__name__ == "KilledWorker":  # distributed.KilledWorker, without importing it here
                raise ExecutorError(
                    f"Dask workers died running a simulation (scheduler {self.scheduler}); "
                    f"{finished} of {total} runs of this batch finished"
                ) from None
            raise

    def _check_alive(self, finished: int, total: int) -> None:
        if self._client is None:
            return
        try:
            alive = self._client.nthreads()
        except OSError as exc:
            raise ExecutorError(f"lost the Dask scheduler at {self.scheduler}: {exc}") from None
        if not alive:
            raise ExecutorError(
                f"every Dask worker left the scheduler at {self.scheduler}; {finished} of {total} runs finished"
            )

    def close(self) -> None:
        """Release the workers after normal completion."""
        if self.kind is ExecutorKind.local and self._pool is None:
            _workload.cache_clear()  # runs went through this process: give the memory back
            _scenario.cache_clear()
            _program.cache_clear()
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
        if self._client is not None:
            self._client.close()
            self._client = None

    def stop(self) -> None:
        """Abandon queued and running runs and release the workers, within a fraction of one run."""
        previous = None
        if threading.current_thread() is threading.main_thread():
            previous = signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut this short
        try:
            if self._stop is not None:
                self._stop.set()
            for future in list(self._inflight):
                future.cancel()
            self._inflight.clear()
            if self._client is not None:
                self._client.close(timeout=5)
                self._client = None
                self._pool = None
            if self._pool is not None:
                self._pool.shutdown(wait=True, cancel_futures=True)
                self._pool = None
        finally:
            if previous is not None:
                signal.signal(signal.SIGINT, previous)


def _dask_client(scheduler: str | None, wait_s: float) -> Any:
    try:
        from distributed import Client
    except ImportError:
        raise ExecutorError("the dask executor needs `pip install 'batchsim[dask]'`") from None
    if not scheduler:
        raise ExecutorError(
            f"--executor dask needs --scheduler ADDRESS or ${SCHEDULER_ENV} (for example tcp://127.0.0.1:8786)"
        )
    # asyncio's TimeoutError is the builtin one only from Python 3.11; distributed raises asyncio's.
    timeouts = (TimeoutError, asyncio.TimeoutError)
    try:
        client = Client(scheduler, timeout="5s")  # type: ignore[no-untyped-call]
    except (OSError, *timeouts) as exc:
        raise ExecutorError(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from None
    try:
        client.wait_for_workers(1, timeout=wait_s)
    except timeouts:
        client.close()  # type: ignore[no-untyped-call]
        raise ExecutorError(
            f"no Dask worker joined the scheduler at {scheduler} within {wait_s:g} s; start one with "
            f"`dask worker {scheduler}`"
        ) from None
    return client
