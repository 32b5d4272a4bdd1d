"""File-system helpers shared by the lock, the store and publish: open without following symbolic
links, read back only regular files, create folders with a fixed mode whatever the umask.

Only the standard library's cheapest modules: this is imported on every run.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

#: Flags for every file spfeed opens by name: never through a symbolic link, never inherited by a child.
NO_FOLLOW = os.O_NOFOLLOW | os.O_CLOEXEC

FOLDER_MODE = 0o755  #: folders spfeed creates: anyone may read what it publishes


class NotAFile(OSError):
    """A path spfeed opens is a symbolic link or not a regular file; the message says which."""


def refusal(path: Path, st: os.stat_result) -> NotAFile:
    """The error for *path* (lstat'ed as *st*) when it is not a regular file."""
    if stat.S_ISLNK(st.st_mode):
        return NotAFile(f"{path} is a symbolic link; refusing to follow it")
    return NotAFile(f"{path} is not a regular file; refusing to use it")


def open_file(path: Path, flags: int, mode: int = 0o600, create: bool = False) -> int:
    """``os.open`` that never follows a symbolic link or blocks on a FIFO, and opens only a regular
    file. With *create*, a missing file is created with exactly *mode* (set with fchmod, so the
    umask does not matter); an existing one keeps its mode. Raises NotAFile for a link or a
    non-regular file, OSError otherwise."""
    for _ in range(3):  # a file removed between the two opens is created again
        if create:
            try:
                fd = _open(path, flags | os.O_CREAT | os.O_EXCL, mode)
            except FileExistsError:  # also a link, dangling or not: O_EXCL never follows one
                pass
            else:
                try:
                    os.fchmod(fd, mode)
                except BaseException:
                    os.close(fd)
                    raise
                return fd
        try:
            return _open(path, flags, mode)
        except FileNotFoundError:
            if not create:
                raise
    raise FileNotFoundError(errno.ENOENT, "the file keeps disappearing", str(path))


def _open(path: Path, flags: int, mode: int) -> int:
    try:
        fd = os.open(path, flags | NO_FOLLOW | os.O_NONBLOCK, mode)
    except OSError as e:
        if e.errno in (errno.ELOOP, errno.ENXIO, errno.EISDIR):  # a link, a FIFO without a reader, a folder
            raise refusal(path, os.lstat(path)) from None
        raise
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise refusal(path, st)
        os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return fd


def refuse_unless_regular(path: Path) -> None:
    """Raise NotAFile if *path* is a symbolic link or exists as anything but a regular file."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    if not stat.S_ISREG(st.st_mode):
        raise refusal(path, st)


def read_regular(path: Path, limit: int) -> bytes | None:
    """Up to *limit* bytes of *path* if it is a regular file; None if it is missing or anything
    else (a link, a FIFO, a device, a folder): those are never opened, let alone read."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return None
    if not stat.S_ISREG(st.st_mode):
        return None
    try:
        fd = open_file(path, os.O_RDONLY)
    except NotAFile:  # swapped since the lstat
        return None
    except FileNotFoundError:
        return None
    try:
        chunks, left = [], limit
        while left > 0:
            chunk = os.read(fd, min(left, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def make_folders(folder: Path) -> None:
    """Create *folder* and its missing parents, each with mode 0755 exactly; existing ones are left
    as they are (a folder that is a link to another is the admin's choice and is used)."""
    missing = []
    for candidate in (folder, *folder.parents):
        if os.path.isdir(candidate):
            break
        missing.append(candidate)
    for path in reversed(missing):
        try:
            os.mkdir(path, FOLDER_MODE)
        except FileExistsError:
            if os.path.isdir(path):
                continue  # made by someone else meanwhile
            raise
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | NO_FOLLOW)
        try:
            os.fchmod(fd, FOLDER_MODE)
        finally:
            os.close(fd)
