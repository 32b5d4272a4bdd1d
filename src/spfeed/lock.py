"""One run at a time: an advisory lock on a file beside the state database.

The kernel releases it when the process dies, even by SIGKILL, so a crash never leaves it stale.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from spfeed.errors import LockError, StoreError
from spfeed.fsutil import NotAFile, make_folders, open_file


@contextmanager
def exclusive(state_path: Path, wait: float) -> Iterator[None]:
    """Hold ``<state_path>.lock`` for the block, waiting up to *wait* seconds for another run.

    The lock file is created 0600 and only ever opened as a regular file, never through a link.
    """
    path = state_path.with_name(state_path.name + ".lock")
    try:
        make_folders(path.parent)
        fd = open_file(path, os.O_RDWR, 0o600, create=True)
    except NotAFile as e:
        raise StoreError(str(e)) from None
    except OSError as e:
        raise StoreError(f"cannot open lock file {path}: {e.strerror or e}") from None
    try:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
                    who = f" (pid {holder})" if holder.isdigit() else ""
                    raise LockError(
                        f"another spfeed run{who} holds {path}; gave up after {wait:g} s (state.lock_timeout)"
                    ) from None
                time.sleep(min(0.1, max(0.0, deadline - time.monotonic())))
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        try:
            yield
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
