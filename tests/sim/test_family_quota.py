"""Per-family dedicated core quotas (issue 24 §1, the engine side).

Oracles: Batch Management REST "Batch Account - Get"
(https://learn.microsoft.com/rest/api/batchmanagement/batch-account/get): `dedicatedCoreQuotaPerVMFamily`
"A list of the dedicated core quota per Virtual Machine family for the Batch account" and
`dedicatedCoreQuotaPerVMFamilyEnforced` "If this flag is true, dedicated core quota is enforced via
both the dedicatedCoreQuotaPerVMFamily and dedicatedCoreQuota properties on the account. If this flag
is false, dedicated core quota is enforced only via the dedicatedCoreQuota property on the account and
does not consider Virtual Machine family"; the low-priority quota is one for every family. The resize
error a family quota gives is `AccountVMSeriesCoreQuotaReached`, the account's total
`AccountCoreQuotaReached` (batch-behavior §1.1, §6.4: a pool stuck at 0 nodes with the former).
"""

from __future__ import annotations

import pytest

from batchsim import simulate
from batchsim.scenario import ScenarioError, load_scenario
from batchsim.sim.config import PoolConfig
from batchsim.sim.engine import run
from batchsim.workload.spec import Workload

ZERO = {"dedicated": {"dist": "constant", "value": 0}, "spot": {"dist": "constant", "value": 0}}
SCENARIO = """
name: family
duration: 1h
pool:
  vm_size: Standard_D2s_v3
  initial_dedicated: 10
  initial_spot: 4
  quota: {{dedicated_cores: {total}, spot_cores: 8, per_family_enforced: {enforced},
          dedicated_cores_per_family: {{standardDSv3Family: 6, standardESv3Family: 0}}}}
workload: [{{kind: poisson, rate_per_hour: 0}}]
"""


def held(enforced: str, total: int = 100) -> tuple[int, int, list[str]]:
    result = simulate(load_scenario("family.yaml", text=SCENARIO.format(total=total, enforced=enforced)), seed=1)
    nodes = result.nodes
    first = nodes[nodes["start_s"] == 0.0]
    return (
        int((first["kind"] == "dedicated").sum()),
        int((first["kind"] == "spot").sum()),
        list(result.resize_errors["code"]),
    )


def test_an_enforced_family_quota_cuts_the_resize() -> None:
    dedicated, spot, codes = held("true")
    assert dedicated == 3  # 6 cores of standardDSv3Family ÷ 2 vCPUs
    assert spot == 4  # Spot has one quota for every family
    assert codes == ["AccountVMSeriesCoreQuotaReached"]


def test_a_family_quota_not_enforced_does_not_bind() -> None:
    dedicated, _, codes = held("false")
    assert dedicated == 10
    assert codes == []


def test_the_account_total_still_binds_when_it_is_lower() -> None:
    dedicated, _, codes = held("true", total=4)
    assert dedicated == 2
    assert codes == ["AccountCoreQuotaReached"]


def test_the_family_is_matched_without_case_and_an_unlisted_family_has_no_cores() -> None:
    def config(family: str) -> PoolConfig:
        return PoolConfig.model_validate(
            {
                "provisioning_delay": ZERO,
                "initial_dedicated": 5,
                "vcpus_per_node": 2,
                "vm_family": family,
                "quota": {"per_family_enforced": True, "dedicated_cores_per_family": {"StandardDSv3Family": 4}},
            }
        )

    capped = run(config("standarddsv3family"), Workload(), 60, 1)
    unlisted = run(config("standardFSv2Family"), Workload(), 60, 1)
    assert len({n.node_id for n in capped.records.node_intervals}) == 2
    # The account's list names every family, 0 where it has no quota: one the list lacks holds nothing.
    assert not unlisted.records.node_intervals


def test_a_negative_family_quota_is_a_scenario_error() -> None:
    text = SCENARIO.format(total=100, enforced="true").replace("standardESv3Family: 0", "standardESv3Family: -1")
    with pytest.raises(ScenarioError, match="standardESv3Family"):
        load_scenario("family.yaml", text=text)
