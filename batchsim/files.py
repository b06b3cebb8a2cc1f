"""Writing result files so that a failure or an interruption never leaves half a file."""

from __future__ import annotations

import errno
import os
import sys
import tempfile
from pathlib import Path

__all__ = ["STDOUT", "write_atomically", "write_out"]

# What `--out` takes for stdout, where a command writes a single file.
STDOUT = "-"


def _umask() -> int:
    # The umask can only be read by setting it; set it straight back.
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_atomically(path: str | Path, text: str | bytes) -> Path:
    """Write `text` (or bytes) to a temporary file beside `path`, then rename it over `path`.

    A rename within one directory is atomic, so readers (a resumed sweep, a catalog lookup) see the
    old file or the new one, never a part; the temporary file is removed when writing fails. A
    `path` that is a symbolic link, or exists and is neither a regular file nor a directory (a device,
    a pipe), is refused with an OSError rather than replaced.
    """
    path = Path(path)
    if path.is_symlink() or (path.exists() and not path.is_file() and not path.is_dir()):
        # The rename would replace the link, device node or pipe (/dev/stdout, /dev/full) with a file.
        raise OSError(errno.EEXIST, "exists and is not a regular file", str(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        if isinstance(text, bytes):
            with os.fdopen(handle, "wb") as binary:
                binary.write(text)
        else:
            with os.fdopen(handle, "w", encoding="utf-8") as stream:
                stream.write(text)
        # mkstemp creates the file 0600; a result file gets the mode any other new file would.
        os.chmod(temporary, 0o666 & ~_umask())
        os.replace(temporary, path)
    except OSError as exc:
        Path(temporary).unlink(missing_ok=True)
        # The failure is the target's to report, not the temporary file's (which is already gone).
        raise OSError(exc.errno, exc.strerror, str(path)) from exc
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def write_out(path: str | Path, text: str) -> Path:
    """Write `text` to `path` atomically, or to stdout when `path` is `-` (then nothing else goes there)."""
    if str(path) == STDOUT:
        sys.stdout.write(text)
        sys.stdout.flush()
        return Path(STDOUT)
    return write_atomically(path, text)
