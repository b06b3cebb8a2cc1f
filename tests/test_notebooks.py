"""The planner notebooks run in Jupyter's kernel from start to end and show their figures.

Each notebook is executed as Jupyter would (nbclient, an ipykernel, the notebook's folder as the
working directory, matplotlib's inline backend); a notebook that raises, or whose figures never
reach the page (a backend switched to Agg shows none), fails.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_and_shows_its_figures(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MPLBACKEND", raising=False)  # the kernel picks its inline backend itself
    notebook = nbformat.read(path, as_version=4)
    source = "\n".join(cell.source for cell in notebook.cells if cell.cell_type == "code")
    assert "import batchsim as bs" in source and ".replace(" not in source
    # The public API only (`bs.…`): a notebook is what a planner copies, and internals move.
    assert not re.search(r"^\s*(from|import) batchsim\.", source, re.MULTILINE), "imports batchsim internals"
    NotebookClient(
        notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    ).execute()
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]
    errors = [o for o in outputs if o.get("output_type") == "error"]
    assert errors == []
    printed = " ".join(str(o.get("text", "")) + str(o.get("data", {}).get("text/plain", "")) for o in outputs)
    assert "Parameter(name=" not in printed  # a table a planner reads, not a dataclass's repr
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    figures = source.count("plt.subplots(")
    assert len(images) >= max(1, figures), f"{len(images)} figures shown for {figures} drawn"
    assert os.environ.get("MPLBACKEND") is None
