"""The mixed-mechanics state machine of test_properties, with this round's Batch features switched on
step by step too (issue 24 §2): exit conditions with job actions, job manager tasks, multi-instance
tasks and per-family quotas. After every step the records keep every invariant (`check_invariants`:
cores within every quota, the family's too; attempts only on ready nodes; one final state per task,
a completed multi-instance task with one completed attempt per node; node intervals without gap or
overlap; billed seconds as the bill prices them)."""

from __future__ import annotations

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import rule
from test_properties import MixedMechanics

from batchsim.workload.spec import ExitConditionsSpec, ExitOptionsSpec, JobManagerSpec, JobSpec, TaskSpec


class BatchMechanics(MixedMechanics):
    @rule(action=st.sampled_from(["none", "disable", "terminate"]), satisfy=st.booleans())
    def exit_actions(self, action: str, satisfy: bool) -> None:
        job_id = f"exit{len(self.jobs)}"
        options = ExitOptionsSpec(job_action=action, dependency_action="satisfy" if satisfy else None)
        conditions = ExitConditionsSpec(exit_codes=((2, options),), default=ExitOptionsSpec(job_action="none"))
        self.jobs.append(JobSpec(job_id, uses_task_dependencies=True, on_task_failure="performexitoptionsjobaction"))
        self.tasks += [
            TaskSpec(
                str(i),
                job_id,
                150.0 * i,
                250.0,
                depends_on=(str(i - 1),) if i else (),
                failure_probability=0.4,
                failure_exit_codes=((2, 1.0), (3, 1.0)),
                pre_processing_error_probability=0.1,
                file_upload_error_probability=0.1,
                output_bytes=1e6,
                exit_conditions=conditions,
            )
            for i in range(5)
        ]

    @rule(kill=st.booleans(), exclusive=st.booleans())
    def job_manager(self, kill: bool, exclusive: bool) -> None:
        job_id = f"jm{len(self.jobs)}"
        manager = JobManagerSpec(duration_s=900, kill_job_on_completion=kill, run_exclusive=exclusive)
        self.jobs.append(JobSpec(job_id, job_manager=manager, on_all_tasks_complete="terminatejob"))
        self.tasks += [TaskSpec(f"m{i}", job_id, 120.0 * i, 600.0) for i in range(4)]

    @rule(instances=st.integers(2, 3))
    def multi_instance(self, instances: int) -> None:
        job_id = f"mpi{len(self.jobs)}"
        self.jobs.append(JobSpec(job_id))
        self.tasks += [
            TaskSpec(f"i{k}", job_id, 600.0 * k, 500.0, number_of_instances=instances, failure_probability=0.2)
            for k in range(3)
        ]
        self.settings["inter_node_communication"] = True

    @rule(cores=st.sampled_from([2, 4]))
    def family_quota(self, cores: int) -> None:
        self.settings["vm_family"] = "standardDSv3Family"
        self.settings["quota"] = {
            "per_family_enforced": True,
            "dedicated_cores_per_family": {"standardDSv3Family": cores},
        }


BatchMechanics.TestCase.settings = settings(
    max_examples=5, stateful_step_count=4, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


class TestBatchMechanicsStepByStep(BatchMechanics.TestCase):  # type: ignore[misc,valid-type]
    """The state machine, bounded, in the default suite."""
