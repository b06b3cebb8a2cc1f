"""Multi-instance (MPI) tasks (issue 24 §2), from Microsoft's pages:

- REST "Task - Add", `multiInstanceSettings.numberOfInstances` (https://learn.microsoft.com/rest/api/
  batchservice/task/add): "The number of Compute Nodes required by the Task"; "if any of the subtasks
  fail (for example due to exiting with a non-zero exit code) the entire multi-instance Task fails.
  The multi-instance Task is then terminated and retried, up to its retry limit."
- "Use multi-instance tasks to run MPI applications" (https://learn.microsoft.com/azure/batch/batch-mpi):
  the service "creates one primary and several subtasks ... The total number of tasks (primary plus
  all subtasks) matches the number of instances (compute nodes)", one subtask per node; the pool
  needs inter-node communication enabled and concurrent task execution disabled (taskSlotsPerNode 1).
- batch-behavior §4.4: `$ActiveTasks` counts N for a multi-instance task [doc], and an inter-node
  communication pool holds at most 100 nodes (`CommunicationEnabledPoolReachedMaxVMCount`, §1.1).
Assumed, and said so in docs/simulation.md: `$RunningTasks` counts N too; an eviction of any of its
nodes requeues the whole task (as the service requeues a task whose node goes).
"""

from __future__ import annotations

import pytest

from batchsim.scenario import ScenarioError, load_scenario
from batchsim.sim.config import PoolConfig
from batchsim.sim.engine import run
from batchsim.workload.spec import JobSpec, TaskSpec, Workload

ZERO = {"dedicated": {"dist": "constant", "value": 0}, "spot": {"dist": "constant", "value": 0}}


def pool(dedicated: int = 0, spot_nodes: int = 0, **kwargs: object) -> PoolConfig:
    settings: dict[str, object] = {
        "provisioning_delay": ZERO,
        "spot": {"eviction_rate_per_hour": 0.0},
        "initial_dedicated": dedicated,
        "initial_spot": spot_nodes,
        "inter_node_communication": True,
    }
    settings.update(kwargs)
    return PoolConfig.model_validate(settings)


def mpi(task_id: str, instances: int, duration_s: float = 100, submit_s: float = 0, **kwargs: object) -> TaskSpec:
    return TaskSpec(task_id, "mpi", submit_s, duration_s, number_of_instances=instances, **kwargs)  # type: ignore[arg-type]


def test_the_task_holds_its_nodes_at_once_one_instance_each() -> None:
    work = Workload(jobs=[JobSpec("mpi"), JobSpec("o")], tasks=[mpi("m", 3), TaskSpec("o", "o", 0, 10)])
    result = run(pool(dedicated=4), work, 3600, 1)
    attempts = result.attempts[result.attempts["task_id"] == "m"]
    assert len(attempts) == 3 and attempts["node_id"].nunique() == 3  # primary + two subtasks
    assert set(attempts["start_s"]) == {0.0} and set(attempts["end_s"]) == {100.0}
    other = result.attempts[result.attempts["task_id"] == "o"]
    assert not set(other["node_id"]) & set(attempts["node_id"])  # the fourth node ran the other task


def test_it_waits_for_all_its_nodes_without_blocking_smaller_tasks() -> None:
    work = Workload(jobs=[JobSpec("mpi"), JobSpec("o")], tasks=[mpi("m", 3), TaskSpec("o", "o", 0, 10)])
    result = run(pool(dedicated=2), work, 3600, 1)
    tasks = result.tasks.set_index("task_id")
    assert tasks.loc["m", "state"] == "active"  # never two of three: gang scheduling
    assert tasks.loc["o", "state"] == "completed"


def test_active_tasks_counts_every_instance() -> None:
    result = run(pool(), Workload(jobs=[JobSpec("mpi")], tasks=[mpi("m", 4)]), 600, 1)
    assert max(result.records.samples["$ActiveTasks"].values) == 4


def test_running_tasks_counts_every_instance_too() -> None:
    result = run(pool(dedicated=4), Workload(jobs=[JobSpec("mpi")], tasks=[mpi("m", 4, duration_s=300)]), 600, 1)
    assert max(result.records.samples["$RunningTasks"].values) == 4


def test_a_failure_fails_and_retries_the_whole_task() -> None:
    task = mpi("m", 2, failure_probability=1.0, max_retry_count=1)
    result = run(pool(dedicated=2), Workload(jobs=[JobSpec("mpi")], tasks=[task]), 3600, 1)
    tasks = result.tasks.set_index("task_id")
    assert tasks.loc["m", "state"] == "failed"
    assert tasks.loc["m", "attempts"] == 2
    assert list(result.attempts["outcome"]) == ["failed"] * 4  # two attempts on two nodes each


def test_an_eviction_of_one_instance_requeues_the_whole_task() -> None:
    p = pool(spot_nodes=2, spot={"eviction_rate_per_hour": 0.0, "mass_evictions": [{"at": 50, "fraction": 0.5}]})
    result = run(p, Workload(jobs=[JobSpec("mpi")], tasks=[mpi("m", 2)]), 3 * 3600, 1)
    first = result.attempts[result.attempts["start_s"] == 0.0]
    assert len(first) == 2
    assert list(first["outcome"]) == ["requeued", "requeued"]  # the surviving instance too
    assert list(first["end_s"]) == [50.0, 50.0]
    tasks = result.tasks.set_index("task_id")
    assert tasks.loc["m", "requeue_count"] == 1
    assert result.records.requeues == 1


def test_an_inter_node_pool_holds_at_most_100_nodes() -> None:
    result = run(pool(dedicated=120), Workload(), 60, 1)
    assert result.nodes["node_id"].nunique() == 100
    assert list(result.resize_errors["code"]) == ["CommunicationEnabledPoolReachedMaxVMCount"]


SCENARIO = """
name: mpi
duration: 1h
pool: {{vm_size: Standard_D2s_v3, initial_dedicated: 2, inter_node_communication: {inter}, task_slots_per_node: {slots}}}
workload: [{{kind: bursts, bursts: [{{at: 0, count: 1}}], number_of_instances: 2, required_slots: {required}}}]
"""


@pytest.mark.parametrize(
    ("inter", "slots", "required", "match"),
    [
        ("false", 1, 1, "inter_node_communication"),
        ("true", 2, 1, "task_slots_per_node: 1"),
        ("true", 1, 2, "required_slots: 1"),
    ],
)
def test_the_services_requirements_are_scenario_errors(inter: str, slots: int, required: int, match: str) -> None:
    text = SCENARIO.format(inter=inter, slots=slots, required=required)
    with pytest.raises(ScenarioError, match=match):
        load_scenario("mpi.yaml", text=text)


def test_a_valid_scenario_runs_the_task_on_two_nodes() -> None:
    from batchsim import simulate

    result = simulate(load_scenario("mpi.yaml", text=SCENARIO.format(inter="true", slots=1, required=1)), seed=1)
    assert result.attempts["node_id"].nunique() == 2
