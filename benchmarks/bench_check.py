"""`batchsim check` on a directory of 200 formulas in a cold process (issue 3 §6).

Builds 200 formula files from the corpus and the library in a temporary directory, then times
`batchsim check DIR` as a fresh process (imports included), best of 5.
Run: python benchmarks/bench_check.py
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from itertools import cycle, islice
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    sources = sorted((ROOT / "formulas").rglob("*.formula"))
    corpus = ROOT.parent / "shared" / "corpus" / "formulas"
    if corpus.is_dir():
        sources += sorted(corpus.glob("*.formula"))
    exe = shutil.which("batchsim") or "batchsim"
    with tempfile.TemporaryDirectory() as tmp:
        for i, source in enumerate(islice(cycle(sources), 200)):
            (Path(tmp) / f"{i:03d}.formula").write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
        times = []
        for _ in range(5):
            started = time.perf_counter()
            subprocess.run([exe, "check", "--format", "json", tmp], capture_output=True, check=False)
            times.append(time.perf_counter() - started)
    print(f"batchsim check on 200 formulas, cold process: best {min(times):.2f} s, median {sorted(times)[2]:.2f} s")


if __name__ == "__main__":
    main()
