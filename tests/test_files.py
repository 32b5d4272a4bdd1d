"""Files: spfeed writes only where it means to. It never follows a symbolic link planted where its
lock, state or temporary files go, never reads (or blocks on) a feed path that is not a regular
file, writes its files with fixed modes whatever the umask or the mode of the file it replaces, and
says plainly when the state folder vanished under a run.

Every case is a real `spfeed` process against a real local server (see test_faults.py for the
shared assertions): exit code, one stderr line, feeds unchanged, the next normal run works.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import parse_feed, run_cli, validate_atom, write_config
from test_faults import HTTP, NEWER, Baseline, assert_failed_safely, next_run_works, spfeed, start_update, wait_for
from spfeed.model import FILES
from test_faults import baseline  # noqa: F401  (the fixture: a project after one good run)


def limited_spfeed(base: Baseline, *args: str, umask: int | None = None,
                   timeout: float = 30) -> subprocess.CompletedProcess:
    """`spfeed ARGS` in a process capped at 1 GiB of address space (so that reading an endless file
    fails fast instead of eating the machine) and, with *umask*, that umask."""
    import resource

    def limits() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))
        if umask is not None:
            os.umask(umask)

    env = {k: v for k, v in os.environ.items() if k != "SPFEED_CONFIG"}
    return subprocess.run([sys.executable, "-m", "spfeed", "--config", str(base.config), *args], env=env,
                          capture_output=True, text=True, timeout=timeout, preexec_fn=limits)


def in_process(base: Baseline, capsys, *args: str) -> subprocess.CompletedProcess:
    """`spfeed ARGS` run in this process (where a real one adds nothing), as a CompletedProcess."""
    from spfeed.cli import main

    capsys.readouterr()
    code = main(["--config", str(base.config), *args])
    out, err = capsys.readouterr()
    return subprocess.CompletedProcess(["spfeed", *args], code, out, err)


def mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


# -- 1. symbolic links where the lock and the state go --------------------------------------------


@pytest.fixture
def outside(tmp_path) -> Path:
    """A file outside the project that a planted link points to; it must keep its bytes."""
    target = tmp_path / "elsewhere" / "precious.txt"
    target.parent.mkdir()
    target.write_bytes(b"not spfeed's\n")
    return target


@pytest.mark.parametrize("suffix", [".lock", "", "-journal", "-wal", "-shm"])
@pytest.mark.parametrize("dangling", [False, True], ids=["to a file", "dangling"])
def test_a_symlink_for_the_lock_or_state_files_is_refused(baseline, site, outside, capsys, suffix, dangling):
    planted = baseline.state.with_name(baseline.state.name + suffix)
    if suffix == "":  # the database itself: its link points to a copy, which must not change either
        shutil.copyfile(baseline.state, outside)
    planted.unlink(missing_ok=True)
    target = outside.with_name("missing.txt") if dangling else outside
    planted.symlink_to(target)
    before = None if dangling else outside.read_bytes()
    site.page("/p", NEWER)
    result = in_process(baseline, capsys, "update")
    assert_failed_safely(baseline, result, 5, f"spfeed: error: {planted} is a symbolic link; refusing to follow it",
                         state_readable=False)
    assert planted.is_symlink() and os.readlink(planted) == str(target)  # left as it was
    if dangling:
        assert not target.exists(), "the link's target was created"
    else:
        assert outside.read_bytes() == before, "the link's target was written"
    planted.unlink()
    if suffix == "":
        shutil.copyfile(outside, baseline.state)
    next_run_works(baseline, site)


@pytest.mark.parametrize("suffix", ["", "-journal", "-wal", "-shm"])
def test_store_open_refuses_links(tmp_path, outside, suffix):
    """Store.open itself, given the path of a link (what config.py should hand it)."""
    from spfeed.errors import StoreError
    from spfeed.store import Store

    state = tmp_path / "state" / "spfeed.sqlite"
    Store.open(state).close()
    planted = state.with_name(state.name + suffix)
    if suffix == "":
        shutil.copyfile(state, outside)
    planted.unlink(missing_ok=True)
    planted.symlink_to(outside)
    before = outside.read_bytes()
    with pytest.raises(StoreError, match=f"^{planted} is a symbolic link; refusing to follow it$") as caught:
        Store.open(state)
    assert caught.value.exit_code == 5 and outside.read_bytes() == before


@pytest.mark.parametrize("suffix", [".lock", "", "-journal"])
def test_a_lock_or_state_file_that_is_not_a_regular_file_is_refused(baseline, site, suffix):
    """A real process with a timeout: SQLite blocks for ever on a FIFO as its database or journal."""
    planted = baseline.state.with_name(baseline.state.name + suffix)
    aside = baseline.state.with_name("aside")
    if planted.exists():
        planted.rename(aside)
    os.mkfifo(planted)
    result = spfeed(baseline, "update", timeout=20)
    assert_failed_safely(baseline, result, 5, f"spfeed: error: {planted} is not a regular file; refusing to use it",
                         state_readable=False)
    assert stat.S_ISFIFO(os.lstat(planted).st_mode)
    planted.unlink()
    if aside.exists():
        aside.rename(planted)
    next_run_works(baseline, site)


def test_leftover_temporary_files_are_removed_without_following_links(baseline, site, outside, capsys):
    """A killed run's temporary files go; a link named like one goes too, its target stays."""
    leftover = baseline.feeds / ".rss.xml.k1ll3d.tmp"
    leftover.write_bytes(b"<rss>half a feed")
    link = baseline.feeds / ".atom.xml.l1nk3d.tmp"
    link.symlink_to(outside)
    folder_link = baseline.feeds / ".rss.xml.f0ld3r.tmp"
    folder_link.symlink_to(outside.parent, target_is_directory=True)
    site.page("/p", NEWER)
    result = in_process(baseline, capsys, "update")
    assert result.returncode == 0 and result.stdout.startswith("1 new"), result.stderr
    assert sorted(p.name for p in baseline.feeds.iterdir()) == sorted(FILES.values())
    assert outside.read_bytes() == b"not spfeed's\n" and sorted(p.name for p in outside.parent.iterdir()) == [
        "precious.txt"]


# -- 2. feed paths that are not regular files -----------------------------------------------------


def plant_symlink_to_dev_zero(path: Path) -> None:
    path.symlink_to("/dev/zero")


def plant_symlink_to_a_file(path: Path) -> None:
    path.with_name("elsewhere.xml").write_bytes(path.read_bytes())
    path.unlink()
    path.symlink_to(path.with_name("elsewhere.xml"))


def plant_fifo(path: Path) -> None:
    os.mkfifo(path)


def plant_dangling_symlink(path: Path) -> None:
    path.symlink_to(path.with_name("nowhere.xml"))


@pytest.mark.parametrize("plant", [plant_symlink_to_dev_zero, plant_symlink_to_a_file, plant_fifo,
                                   plant_dangling_symlink], ids=lambda f: f.__name__[6:])
def test_a_feed_path_that_is_not_a_regular_file_is_replaced_never_read(baseline, plant):
    """`regenerate` renders the same bytes as before: read through the link, they would compare
    equal and the link would stay. A real process, capped and timed out: the old code read
    /dev/zero until it ran out of memory and blocked on the FIFO for ever."""
    rss = baseline.feeds / "rss.xml"
    if plant is not plant_symlink_to_a_file:
        rss.unlink()
    plant(rss)
    pointed = rss.with_name("elsewhere.xml")
    pointed_before = pointed.read_bytes() if pointed.exists() else None
    result = limited_spfeed(baseline, "regenerate", timeout=20)
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    assert result.stderr.startswith(f"spfeed: warning: {rss} is ") and result.stderr.count("\n") == 1
    assert stat.S_ISREG(os.lstat(rss).st_mode) and mode(rss) == 0o644
    assert rss.read_bytes() == baseline.rss
    if pointed_before is not None:
        assert pointed.read_bytes() == pointed_before, "the link's target was written"
    assert not rss.with_name("nowhere.xml").exists()
    assert stat.S_ISCHR(os.stat("/dev/zero").st_mode)
    assert (baseline.feeds / "atom.xml").read_bytes() == baseline.atom


READ_BACK = {  # what is at the path -> what read_regular(path, limit=5) gives
    "a regular file": (lambda p: p.write_bytes(b"<rss/>"), b"<rss/"),  # no more than the cap
    "a short file": (lambda p: p.write_bytes(b"<a/>"), b"<a/>"),
    "nothing": (lambda p: None, None),
    "a link to a regular file": (lambda p: (p.with_name("real").write_bytes(b"<rss/>"), p.symlink_to("real")), None),
    "a link to /dev/zero": (lambda p: p.symlink_to("/dev/zero"), None),
    "a FIFO": (lambda p: os.mkfifo(p), None),
    "a folder": (lambda p: p.mkdir(), None),
}


@pytest.mark.parametrize("name", READ_BACK)
def test_only_a_regular_file_is_read_back_and_only_up_to_the_cap(tmp_path, name):
    from spfeed.fsutil import read_regular

    plant, expected = READ_BACK[name]
    path = tmp_path / "rss.xml"
    plant(path)
    assert read_regular(path, 5) == expected


def test_a_feed_path_that_is_a_directory_is_refused(baseline, site, capsys):
    rss = baseline.feeds / "rss.xml"
    rss.unlink()
    rss.mkdir()
    (rss / "keep.txt").write_text("mine")
    site.page("/p", NEWER)
    result = in_process(baseline, capsys, "update")
    assert result.returncode == 6 and result.stdout == ""
    assert result.stderr == f"spfeed: error: {rss} is a directory; refusing to replace it\n"
    assert (rss / "keep.txt").read_text() == "mine"
    assert (baseline.feeds / "atom.xml").read_bytes() == baseline.atom
    assert not list(baseline.feeds.glob(".*.tmp"))
    shutil.rmtree(rss)
    result = in_process(baseline, capsys, "update")  # the items were stored; now they are published
    assert result.returncode == 0 and result.stdout.startswith("rebuilt "), result.stderr
    assert len(parse_feed(rss.read_bytes()).entries) == baseline.items + 1


def test_an_unchanged_feed_is_left_alone(baseline, capsys):
    """The read-back still works for a regular file: same bytes, no write (same inode, same mtime)."""
    rss = baseline.feeds / "rss.xml"
    before = os.stat(rss)
    result = in_process(baseline, capsys, "regenerate")
    assert result.returncode == 0, result.stderr
    after = os.stat(rss)
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert rss.read_bytes() == baseline.rss


# -- 3. modes --------------------------------------------------------------------------------------


@pytest.mark.parametrize("old_mode", [0o4755, 0o6711, 0o600, 0o666], ids=lambda m: f"{m:04o}")
def test_a_new_feed_never_copies_the_old_files_mode(baseline, site, capsys, old_mode):
    rss = baseline.feeds / "rss.xml"
    os.chmod(rss, old_mode)
    site.page("/p", NEWER)
    result = in_process(baseline, capsys, "update")
    assert result.returncode == 0, result.stderr
    assert mode(rss) == mode(baseline.feeds / "atom.xml") == 0o644


@pytest.mark.parametrize("umask", [0o077, 0o000, 0o022, 0o277], ids=lambda m: f"umask {m:03o}")
def test_modes_do_not_depend_on_the_umask(tmp_path, site, umask):
    url = site.page("/p", NEWER)
    config = write_config(tmp_path, url, http=HTTP, output={"dir": "out/deep/feeds"},
                          state={"path": "var/lib/spfeed.sqlite"})
    base = Baseline(tmp_path, config, url, b"", b"", 0)
    result = limited_spfeed(base, "update", umask=umask)
    assert result.returncode == 0 and result.stdout.startswith("3 new"), result.stderr
    modes = {str(p.relative_to(tmp_path)): mode(p) for p in sorted(tmp_path.rglob("*")) if p.name != "config.yaml"}
    assert modes == {
        "out": 0o755, "out/deep": 0o755, "out/deep/feeds": 0o755,
        **{f"out/deep/feeds/{name}": 0o644 for name in FILES.values()},
        "var": 0o755, "var/lib": 0o755,
        "var/lib/spfeed.sqlite": 0o600, "var/lib/spfeed.sqlite.lock": 0o600,
    }


# -- 4. the state folder vanishes during a run ----------------------------------------------------


@pytest.mark.parametrize("what", ["folder", "file"])
def test_the_state_vanishing_mid_run_is_named(baseline, site, what):
    site.page("/p", NEWER, delay=1.5)  # the run holds the open database while it waits for the server
    baseline.rewrite_config(http={"timeout": 10})
    process = start_update(baseline)
    wait_for(lambda: len(site.hits("/p")) >= 2)
    if what == "folder":
        shutil.rmtree(baseline.state.parent)
        expected = f"the state folder {baseline.state.parent} disappeared during the run"
    else:
        baseline.state.unlink()
        expected = "the file disappeared during the run (deleted or moved)"
    out, err = process.communicate(timeout=30)
    assert process.returncode == 5 and out == ""
    assert err == f"spfeed: error: state database {baseline.state}: {expected}\n"
    assert (baseline.feeds / "rss.xml").read_bytes() == baseline.rss
    assert (baseline.feeds / "atom.xml").read_bytes() == baseline.atom
    site.page("/p", NEWER)
    result = spfeed(baseline, "update")  # starts a new history, and publishes the page
    assert result.returncode == 0 and result.stdout.startswith("3 new"), result.stderr
    assert len(parse_feed((baseline.feeds / "atom.xml").read_bytes()).entries) == 3


def test_the_files_of_one_folder_are_made_durable_with_one_folder_sync(tmp_path, monkeypatch):
    """Each file is flushed to disk before its rename; the folder that holds the renames once."""
    from spfeed import publish

    synced: list[str] = []
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        synced.append("folder" if stat.S_ISDIR(os.fstat(fd).st_mode) else "file")
        real_fsync(fd)

    monkeypatch.setattr(publish.os, "fsync", fsync)
    paths = [tmp_path / "feeds" / name for name in ("rss.xml", "atom.xml", "feed.json")]
    assert all(publish.write_if_changed(p, b"<x/>", sync_folder=False) for p in paths)
    publish.sync_folders(paths)
    assert synced == ["file", "file", "file", "folder"]
    assert all(p.read_bytes() == b"<x/>" for p in paths)
