"""Write feed files atomically, and only when their bytes change."""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

from spfeed.errors import PublishError
from spfeed.fsutil import make_folders, read_regular

log = logging.getLogger(__name__)

FEED_MODE = 0o644  #: feeds are published: world-readable, never executable, never set-id


def write_if_changed(path: Path, data: bytes, *, sync_folder: bool = True) -> bool:
    """Put *data* at *path* unless it is already there; True when the file was written.

    A temporary file in the same folder is written, flushed to disk and renamed over the old one,
    so a reader sees the old feed or the new one, never a part. The new file is 0644 whatever the
    umask or the old file's mode. Only a regular file at *path* is read back (never more than one
    byte past *data*); a link, FIFO or device there is replaced by the rename, never read or
    written through; a folder there is refused. A missing folder is created (0755). Without
    *sync_folder*, the caller makes the rename durable (:func:`sync_folders`, once for several files).
    """
    try:
        if read_regular(path, len(data) + 1) == data:
            return False
    except OSError as e:
        raise PublishError(f"cannot read {path}: {e.strerror or e}") from None
    _check_replaceable(path)
    folder = path.parent
    try:
        make_folders(folder)
    except OSError as e:
        raise PublishError(f"cannot create output folder {folder}: {e.strerror or e}") from None
    _remove_leftovers(path)
    try:
        fd, tmp = _create_temporary(path)
    except OSError as e:
        raise PublishError(f"cannot write in {folder}: {e.strerror or e}") from None
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except OSError as e:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise PublishError(f"cannot write {path}: {e.strerror or e}") from None
    if sync_folder:
        _sync_folder(folder)
    return True


def sync_folders(paths) -> None:
    """Make the renames of files written without *sync_folder* durable: each folder once."""
    for folder in dict.fromkeys(Path(p).parent for p in paths):
        _sync_folder(folder)


def _check_replaceable(path: Path) -> None:
    """Refuse a folder at *path* (a rename cannot replace it, and spfeed deletes no folders); say
    so when a link or another non-regular file is about to be replaced."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    except OSError as e:
        raise PublishError(f"cannot read {path}: {e.strerror or e}") from None
    if stat.S_ISDIR(st.st_mode):
        raise PublishError(f"{path} is a directory; refusing to replace it")
    if stat.S_ISLNK(st.st_mode):
        log.warning("warning: %s is a symbolic link; replacing the link itself with the feed", path)
    elif not stat.S_ISREG(st.st_mode):
        log.warning("warning: %s is not a regular file; replacing it with the feed", path)


def _create_temporary(path: Path) -> tuple[int, str]:
    """A new, empty temporary file ``.<name>.<random>.tmp`` beside *path*, mode 0644, opened for
    writing; its descriptor and name. Created exclusively, so never through a link."""
    for _ in range(100):
        tmp = str(path.with_name(f".{path.name}.{os.urandom(6).hex()}.tmp"))
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, FEED_MODE)
        except FileExistsError:
            continue
        try:
            os.fchmod(fd, FEED_MODE)  # the umask may have taken bits away
        except OSError:
            os.close(fd)
            os.unlink(tmp)
            raise
        return fd, tmp
    raise FileExistsError(f"no free temporary name beside {path}")


def _remove_leftovers(path: Path) -> None:
    """Delete temporary files a killed run left beside *path* (the caller holds the state lock, so
    no other spfeed is writing them). A link named like one is removed itself, never followed;
    folders are left alone."""
    prefix = f".{path.name}."
    try:
        entries = list(os.scandir(path.parent))
    except OSError:
        return
    for entry in entries:
        if entry.name.startswith(prefix) and entry.name.endswith(".tmp") and not entry.is_dir(follow_symlinks=False):
            try:
                os.unlink(entry.path)  # unlink removes a link, not what it points to
            except OSError:
                pass


def _sync_folder(folder: Path) -> None:
    """Make the rename itself durable (best effort: not every platform can open a folder)."""
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
