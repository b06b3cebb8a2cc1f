"""Result files are written whole or not at all, with the mode any new file of the user's gets."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from batchsim.files import write_atomically


def test_mode_follows_the_umask(tmp_path: Path) -> None:
    previous = os.umask(0o027)
    try:
        path = write_atomically(tmp_path / "runs" / "a.json", "{}")
    finally:
        os.umask(previous)
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert path.read_text() == "{}"
    assert [p.name for p in path.parent.iterdir()] == ["a.json"]
