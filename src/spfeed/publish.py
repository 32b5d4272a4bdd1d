"""Write feed files atomically, and only when their bytes change."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from spfeed.errors import PublishError


def write_if_changed(path: Path, data: bytes) -> bool:
    """Put *data* at *path* unless it is already there; True when the file was written.

    A temporary file in the same folder is written, flushed to disk and renamed over the old one,
    so a reader sees the old feed or the new one, never a part. A new file is world-readable, as
    a published feed must be; a replaced one keeps its mode. A missing folder is created.
    """
    mode = 0o644
    try:
        if path.read_bytes() == data:
            return False
        mode = path.stat().st_mode & 0o7777
    except FileNotFoundError:
        pass
    except OSError as e:
        raise PublishError(f"cannot read {path}: {e.strerror or e}") from None
    folder = path.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise PublishError(f"cannot create output folder {folder}: {e.strerror or e}") from None
    _remove_leftovers(path)
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as e:
        raise PublishError(f"cannot write in {folder}: {e.strerror or e}") from None
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except OSError as e:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise PublishError(f"cannot write {path}: {e.strerror or e}") from None
    _sync_folder(folder)
    return True


def _remove_leftovers(path: Path) -> None:
    """Delete temporary files a killed run left beside *path* (the caller holds the state lock, so
    no other spfeed is writing them)."""
    for leftover in path.parent.glob(f".{path.name}.*.tmp"):
        try:
            leftover.unlink()
        except OSError:
            pass


def _sync_folder(folder: Path) -> None:
    """Make the rename itself durable (best effort: not every platform can open a folder)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
