"""One random stream per source of randomness in the engine, all spawned from the run seed.

STYLE: common random numbers. Each source draws only from its own `numpy.random.Generator`, so
that switching one source on or off, or drawing more from it, never reshuffles another: two
formulas compared on the same seed see the same evictions, delays and task outcomes. A new source
takes the next child of the same `SeedSequence`; the children before it are unchanged.
"""

from __future__ import annotations

import hashlib

import numpy as np

__all__ = ["Streams", "identity_key"]

_ENGINE_SALT = 0x6261  # keeps the engine's streams apart from the workload's (SeedSequence([seed, 0x776C]))
_SOURCES = 14  # the first 8 are the streams of before issue 13 §2; each later one is a source added since


class Streams:
    """The engine's generators.

    outcome_entropy: the root of the per-task-attempt generators (`Scheduler.task_rng`), which are
    keyed by (run, task identity, attempt) so that a task's outcome does not depend on what ran
    before it, nor on when it was submitted.
    """

    __slots__ = (
        "allocation_failure",
        "autoscale",
        "dedicated_shortage",
        "evict",
        "faults",
        "mass_eviction",
        "outcome_entropy",
        "provision",
        "reclaim",
        "resize_wait",
        "restore",
        "sample_loss",
        "samples",
        "spot_shortage",
        "start_task",
    )

    def __init__(self, seed: int) -> None:
        children = np.random.SeedSequence([seed, _ENGINE_SALT]).spawn(_SOURCES)
        (
            self.provision,
            self.evict,
            self.reclaim,
            self.spot_shortage,
            self.start_task,
            self.autoscale,
            self.samples,
            self.restore,
            self.resize_wait,
            self.allocation_failure,
            self.dedicated_shortage,
            self.mass_eviction,
            self.sample_loss,
            self.faults,
        ) = (np.random.default_rng(child) for child in children)
        self.outcome_entropy = int(children[0].generate_state(1)[0])


def identity_key(*parts: str) -> int:
    """A stable 64-bit seed word for an identity (job ID, task ID): the same in every run, pool and
    process (Python's `hash` of a string is salted per process)."""
    digest = hashlib.blake2b("\x00".join(parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little")
