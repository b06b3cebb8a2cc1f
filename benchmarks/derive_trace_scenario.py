"""Statistics of the Azure LLM inference trace 2023 that scenarios/azure-llm-trace.yaml is built from.

The trace is not part of this repository (it is CC BY 4.0 data of Azure/AzurePublicDataset); give
the path of a local copy of `data/AzureLLMInferenceTrace_conv.csv`:

    python benchmarks/derive_trace_scenario.py PATH/AzureLLMInferenceTrace_conv.csv

It prints what the scenario uses: the arrival profile (requests in 24 consecutive, equal bins of
the trace's span, as multiples of the mean bin) and a lognormal fit (median, sigma of the log) of
the tokens per request (context + generated), by maximum likelihood (mean and standard deviation
of the log).
"""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd

BINS = 24


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit("usage: python benchmarks/derive_trace_scenario.py PATH/AzureLLMInferenceTrace_conv.csv")
    trace = pd.read_csv(sys.argv[1])
    times = pd.to_datetime(trace["TIMESTAMP"])
    seconds = (times - times.min()).dt.total_seconds().to_numpy()
    span_s = float(seconds.max())
    counts, _ = np.histogram(seconds, bins=BINS, range=(0.0, span_s))
    profile = counts / counts.mean()
    tokens = (trace["ContextTokens"] + trace["GeneratedTokens"]).to_numpy(dtype=float)
    logs = np.log(tokens[tokens > 0])
    print(f"requests: {len(trace)}, span: {span_s:.0f} s ({times.min()} to {times.max()})")
    print(f"requests per bin ({span_s / BINS:.0f} s each): {counts.tolist()}")
    print(f"profile (bin / mean bin): [{', '.join(f'{p:.2f}' for p in profile)}]")
    print(f"peak / mean: {profile.max():.2f}, trough / mean: {profile.min():.2f}")
    print(f"tokens per request: median {np.exp(logs.mean()):.0f} (lognormal fit), sigma {logs.std(ddof=1):.3f}")
    print(f"  empirical quantiles p50 {np.median(tokens):.0f}, p95 {np.percentile(tokens, 95):.0f}")
    print(f"  generated tokens: median {trace['GeneratedTokens'].median():.0f}")


if __name__ == "__main__":
    main()
