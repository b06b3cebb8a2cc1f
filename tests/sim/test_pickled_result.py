"""A run's result survives pickling, as it must when a sweep or a stress (`records=True`) sends it
back from a worker process: in the pure package and in the compiled build (README "Compiled build"),
where mypyc's native classes pickle only when marked so. The oracle is the unpickled run's own tables."""

from __future__ import annotations

import pickle

from batchsim.formula import compile
from batchsim.sim.config import PoolConfig
from batchsim.sim.engine import run
from batchsim.workload.spec import TaskSpec, Workload


def test_result_with_its_tasks_and_jobs_round_trips_through_pickle() -> None:
    pool = PoolConfig.model_validate({"initial_dedicated": 2, "initial_spot": 1})
    work = Workload(tasks=[TaskSpec(str(i), "job", 60.0 * i, 900.0) for i in range(40)])
    # The run ends with tasks in every state (completed, running, active), each holding its job.
    result = run(pool, work, 3600, 7, formula=compile("$TargetDedicatedNodes = 3; $TargetLowPriorityNodes = 2;"))
    assert {t.state for t in result.records.tasks} == {"completed", "running", "active"}

    back = pickle.loads(pickle.dumps(result))

    assert repr(back.summary) == repr(result.summary)  # repr: NaN figures (no deadlines) compare equal
    for name, frame in result.tables().items():
        assert back.tables()[name].equals(frame), name
    assert [(t.spec, t.state, t.job.spec) for t in back.records.tasks] == [
        (t.spec, t.state, t.job.spec) for t in result.records.tasks
    ]
