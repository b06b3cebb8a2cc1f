"""Diagnostics latency of `batchsim lsp` for a 100-line formula, through a real LSP client (issue 16).

Starts `python -m batchsim lsp` as a subprocess, drives it with pygls's `LanguageClient` over stdio,
and times each edit from the moment `textDocument/didChange` is sent to the moment the matching
`textDocument/publishDiagnostics` arrives, minus the server's debounce (which it waits on purpose,
so that typing is not checked keystroke by keystroke). Two 100-line formulas:

- typical: the shape of the shipped library (comment header, comments between statements, guarded
  sample windows, caps), about 4 KB;
- dense: 100 statements and nearly the 8192-character limit, the largest text the service takes.

Each is measured with the default debounce (150 ms, `batchsim lsp --debounce-ms`, or
`initializationOptions.debounceMs`) and with the debounce off (0: checked as the change arrives).
Also prints `check()` alone in process, to show what the server adds.
Run: python benchmarks/bench_lsp.py [--edits N]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time

from lsprotocol import types
from pygls.lsp.client import LanguageClient

from batchsim.formula import check

DEFAULT_DEBOUNCE_MS = 150


def typical_formula() -> str:
    lines = [
        "// queue-depth: dedicated nodes for the pending tasks, Spot for bursts, both capped.",
        "// When to use: benchmark of a typical 100-line formula (comments between statements).",
        "",
    ]
    k = 0
    while len(lines) + 6 <= 97:
        previous = f"nodes{k - 1}, " if k else ""
        lines += [
            f"// block {k}: the last {k + 5} minutes of samples, guarded against missing data",
            f"percent{k} = $PendingTasks.GetSamplePercent(TimeInterval_Minute * {k + 5});",
            f"recent{k} = val($PendingTasks.GetSample(1), 0);",
            f"window{k} = percent{k} < 70 ? recent{k} : avg($PendingTasks.GetSample(TimeInterval_Minute * {k + 5}));",
            f"nodes{k} = min(50, max({previous}recent{k}, window{k}) / $TaskSlotsPerNode);",
            "",
        ]
        k += 1
    while len(lines) < 97:
        lines.append("// (padding to 100 lines)")
    lines += [
        f"$TargetDedicatedNodes = min(20, nodes{k - 1});",
        f"$TargetLowPriorityNodes = min(30, max(0, nodes{k - 1} - 20));",
        "$NodeDeallocationOption = taskcompletion;",
    ]
    return "\n".join(lines) + "\n"


def dense_formula() -> str:
    lines = ["v0 = $PendingTasks.GetSamplePercent(180 * TimeInterval_Second);"]
    for i in range(1, 98):
        lines.append(f"v{i} = v0 < 70 ? {i} : max(v{i - 1}, avg($PendingTasks.GetSample(TimeInterval_Minute)));")
    lines += ["$TargetDedicatedNodes = min(25, v97 / $TaskSlotsPerNode);", "$NodeDeallocationOption = taskcompletion;"]
    text = "\n".join(lines)
    while len(text) > 8100:  # keep within the service's limit with room for the edits
        lines.pop(-3)
        text = "\n".join(lines)
    return text


def edited(text: str, k: int) -> str:
    """The text with one number changed, as a user typing would change it."""
    return text.replace("min(20,", f"min({20 + k % 7},", 1).replace("min(25,", f"min({25 + k % 7},", 1)


async def measure(text: str, debounce_ms: int, edits: int) -> list[float]:
    client = LanguageClient("bench", "1")
    arrived: dict[int, asyncio.Future[float]] = {}

    @client.feature(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    def on_diagnostics(params: types.PublishDiagnosticsParams) -> None:
        future = arrived.get(params.version or 0)
        if future is not None and not future.done():
            future.set_result(time.perf_counter())

    await client.start_io(sys.executable, "-m", "batchsim", "lsp", "--debounce-ms", str(debounce_ms))
    await client.initialize_async(types.InitializeParams(capabilities=types.ClientCapabilities()))
    client.initialized(types.InitializedParams())
    uri = "file:///bench/formula.formula"
    loop = asyncio.get_running_loop()
    arrived[1] = loop.create_future()
    item = types.TextDocumentItem(uri=uri, language_id="batchsim-formula", version=1, text=text)
    client.text_document_did_open(types.DidOpenTextDocumentParams(text_document=item))
    await asyncio.wait_for(arrived[1], 30)
    latencies_ms = []
    for version in range(2, edits + 2):
        arrived[version] = loop.create_future()
        params = types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text=edited(text, version))],
        )
        sent = time.perf_counter()
        client.text_document_did_change(params)
        received = await asyncio.wait_for(arrived[version], 30)
        latencies_ms.append((received - sent) * 1000 - debounce_ms)
        await asyncio.sleep(0.05)
    await client.shutdown_async(None)
    client.exit(None)
    await client.stop()
    return latencies_ms


def summary(values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return (
        f"min {ordered[0]:5.1f} ms, median {statistics.median(values):5.1f} ms, p95 {p95:5.1f} ms, "
        f"max {ordered[-1]:5.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--edits", type=int, default=40, help="edits measured per case")
    edits = parser.parse_args().edits
    for name, text in (("typical", typical_formula()), ("dense", dense_formula())):
        lines = text.count("\n") + (not text.endswith("\n"))
        errors = [d for d in check(text) if d.severity.value == "error"]
        assert not errors, errors
        alone_ms = []
        for _ in range(20):
            started = time.perf_counter()
            check(text)
            alone_ms.append((time.perf_counter() - started) * 1000)
        print(
            f"{name}: {lines} lines, {len(text)} characters; check() alone in process: "
            f"min {min(alone_ms):.1f} ms, median {statistics.median(alone_ms):.1f} ms"
        )
        for debounce_ms in (DEFAULT_DEBOUNCE_MS, 0):
            latencies = asyncio.run(measure(text, debounce_ms, edits))
            print(f"  didChange -> publishDiagnostics, minus the {debounce_ms} ms debounce: {summary(latencies)}")


if __name__ == "__main__":
    main()
