"""Measuring formulas by simulation, shared by the optimizer, `stress`, `compare` and `sweep`.

`runs` (what a run is: the resolved scenario, the formula, the seed, its key), `executors` (where
runs execute: local processes or Dask), `cells` (formulas × scenarios × seeds in one batch, common
random numbers), `stats` (95 % t-intervals, paired differences), `text` (plain-text tables),
`clairvoyant` (a lower bound on cost), `kinds` (the executor choice). It sits above the pipeline and
below `stress` and `optimize`, which both use it.
"""
