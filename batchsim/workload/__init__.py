"""Workloads: task and job arrival generators and trace importers."""

from __future__ import annotations

from batchsim.workload.spec import JobSpec, PrepTaskSpec, ScheduleSpec, TaskSpec, Workload

__all__ = ["JobSpec", "PrepTaskSpec", "ScheduleSpec", "TaskSpec", "Workload"]
