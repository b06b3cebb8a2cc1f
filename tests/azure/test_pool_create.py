"""`batchsim pool create` with the real azure-batch client against the local Batch service.

The service's behaviour, from the REST reference (Pool - Create, https://learn.microsoft.com/rest/api/batchservice/pool/create):
`POST {endpoint}/pools` with the pool-add body answers 201 Created; a pool with the same id answers
409 with the error code `PoolExists` ("The specified pool already exists."). The local service here
adds that endpoint to tests/azure/batch_server.py's (a subclass, so the shared server is unchanged).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from batch_server import FakeBatchService, Running, error_body, make_pool, serve
from cli_runner import Cli


class PoolCreatingService(FakeBatchService):
    """The local Batch service with `POST /pools` (Pool - Create)."""

    def _list(self, method: str, path: str, query: str) -> tuple[int, Any] | None:
        if method == "POST" and path == "/pools":
            body = self.requests[-1].body or {}
            if body.get("id") in self.pools:
                return 409, error_body("PoolExists", "The specified pool already exists.")
            self.pools[body["id"]] = make_pool(body["id"], **{k: v for k, v in body.items() if k != "id"})
            return 201, None
        return super()._list(method, path, query)


@pytest.fixture
def service() -> Iterator[Running]:
    yield from serve(PoolCreatingService(pools={"render": make_pool("render")}))


BODY = {
    "id": "office-hours-plan",
    "vmSize": "Standard_F4s_v2",
    "virtualMachineConfiguration": {
        "imageReference": {"publisher": "canonical", "offer": "ubuntu-24_04-lts", "sku": "server", "version": "latest"},
        "nodeAgentSKUId": "batch.node.ubuntu 24.04",
    },
    "taskSlotsPerNode": 4,
    "taskSchedulingPolicy": {"nodeFillType": "pack"},
    "enableAutoScale": True,
    "autoScaleFormula": "$TargetDedicatedNodes = min(10, $PendingTasks.GetSample(1) / $TaskSlotsPerNode);",
    "autoScaleEvaluationInterval": "PT5M",
}


def write(tmp_path: Path, body: dict[str, Any]) -> Path:
    path = tmp_path / "pool.json"
    path.write_text(json.dumps(body), encoding="utf-8")
    return path


def test_creates_the_pool_with_the_body_as_sent(service: Running, tmp_path: Path) -> None:
    code, out = Cli(service)("pool", "create", str(write(tmp_path, BODY)))
    assert code == 0, out
    assert "pool 'office-hours-plan' created" in out
    posts = [r for r in service.service.requests if r.method == "POST" and r.path == "/pools"]
    assert len(posts) == 1 and posts[0].body == BODY  # the SDK sent exactly the planned body
    assert service.service.signature_failures == 0
    assert service.service.pools["office-hours-plan"]["vmSize"] == "Standard_F4s_v2"


def test_inter_node_communication_reaches_the_service(service: Running, tmp_path: Path) -> None:
    # Pool - Add's `enableInterNodeCommunication` (REST reference above; multi-instance tasks need it
    # and one task slot per node, learn.microsoft.com/azure/batch/batch-mpi): `batchsim plan` writes it
    # for a scenario with pool.inter_node_communication, and it is settable only when the pool is created.
    body = {**BODY, "id": "mpi-plan", "taskSlotsPerNode": 1, "enableInterNodeCommunication": True}
    code, out = Cli(service)("pool", "create", str(write(tmp_path, body)))
    assert code == 0, out
    posts = [r for r in service.service.requests if r.method == "POST" and r.path == "/pools"]
    assert len(posts) == 1 and posts[0].body == body and posts[0].body["enableInterNodeCommunication"] is True
    assert service.service.pools["mpi-plan"]["enableInterNodeCommunication"] is True


def test_refuses_when_a_pool_with_that_id_exists(service: Running, tmp_path: Path) -> None:
    code, out = Cli(service)("pool", "create", str(write(tmp_path, {**BODY, "id": "render"})))
    assert code == 1
    assert "pool 'render' already exists" in out and "Traceback" not in out
    assert not [r for r in service.service.requests if r.method == "POST"]  # never sent


class RacingService(PoolCreatingService):
    """Another client creates the pool just after this one looked it up."""

    def handle(self, method: str, raw_path: str, query: str, headers: dict[str, str], body: bytes) -> tuple[int, Any]:
        answer = super().handle(method, raw_path, query, headers, body)
        if method == "GET" and raw_path == f"/pools/{BODY['id']}":
            self.pools[BODY["id"]] = make_pool(BODY["id"])
        return answer


def test_the_service_s_pool_exists_is_reported_too(tmp_path: Path) -> None:
    for running in serve(RacingService()):
        code, out = Cli(running)("pool", "create", str(write(tmp_path, BODY)))
        assert code == 1
        assert "already exists" in out and "PoolExists" in out and "Traceback" not in out
        assert [(r.method, r.path, r.status) for r in running.service.requests] == [
            ("GET", "/pools/office-hours-plan", 404),
            ("POST", "/pools", 409),
        ]


def test_dry_run_checks_and_creates_nothing(service: Running, tmp_path: Path) -> None:
    code, out = Cli(service)("pool", "create", str(write(tmp_path, BODY)), "--dry-run")
    assert code == 0, out
    assert "dry run" in out and "office-hours-plan" not in service.service.pools
    assert [(r.method, r.path) for r in service.service.requests] == [("GET", "/pools/office-hours-plan")]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({**BODY, "autoScaleFormula": "$TargetDedicatedNodes = ;"}, "autoScaleFormula: line 1"),
        ({**BODY, "vmsize": "x"}, "key 'vmsize' is not a key of the Batch pool-add body"),
        ({k: v for k, v in BODY.items() if k != "vmSize"}, "key 'vmSize' is required"),
    ],
)
def test_a_bad_body_never_reaches_the_service(
    service: Running, tmp_path: Path, body: dict[str, Any], message: str
) -> None:
    code, out = Cli(service)("pool", "create", str(write(tmp_path, body)))
    assert code == 1 and message in out, out
    assert service.service.requests == []


PLANNED = """
name: plan to create
duration: 2h
pool:
  vm_size: Standard_D2s_v3
  region: westeurope
  task_slots_per_node: 2
  initial_dedicated: 6
workload:
  - kind: poisson
    rate_per_hour: 100
    task_duration: {dist: exponential, mean: 300s}
"""


def test_the_plan_s_pool_json_is_created_as_planned(service: Running, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from batchsim.cli import app

    scenario = tmp_path / "s.yaml"
    scenario.write_text(PLANNED, encoding="utf-8")
    out = tmp_path / "plan"
    args = ["plan", str(scenario), "--size", "Standard_F4s_v2", "--template", "pending-tasks", "--budget", "2"]
    args += ["--seeds", "1", "--final-seeds", "2", "--workers", "1", "--p95-wait-target", "1800", "--out", str(out)]
    planned = CliRunner().invoke(app, args)
    assert planned.exit_code == 0, planned.output
    code, text = Cli(service)("pool", "create", str(out / "pool.json"))
    assert code == 0, text
    created = service.service.pools["plan-to-create-plan"]
    document = json.loads((out / "plan.json").read_text(encoding="utf-8"))
    assert created["vmSize"] == "Standard_F4s_v2" == document["vm_size"]
    assert created["autoScaleFormula"] == document["formula"]
