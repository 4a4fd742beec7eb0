"""Atomic file writes: a reader sees either the old file or the complete new one, never a half."""

from __future__ import annotations

import os
import re
import socket
import tempfile
import time

LEGACY_TEMPORARY_AGE = 3600.0
"""Seconds after which a temporary file named without its writer (by an older version of this
module) counts as abandoned."""

# mkstemp's random part: 8 characters of this alphabet
_RANDOM_PART = r"[a-z0-9_]{8}"
WRITER = r"(?P<host>[A-Za-z0-9-]+)\.(?P<pid>\d+)\."
"""What :func:`writer` puts in a temporary's name (and the dot after it), as the groups ``host``
and ``pid`` that :func:`remove_abandoned` reads."""


def write_atomically(path, write, *, binary=False):
    """Call ``write(handle)`` on a temporary file beside ``path``, then rename it into place.

    The temporary file is flushed to disk before the rename and removed on any failure, so an
    interrupted write leaves neither a partial ``path`` nor a stray temporary file. A process
    killed outright (``kill -9``, a power cut) cannot remove its temporary file, so each write
    first removes the abandoned temporaries of the same ``path``: the temporary file is named
    ``.{name}.{host}.{pid}.{random}.part`` after the writing process, and one whose process on
    this host no longer exists is deleted (as is one without host and pid, from an older version,
    after :data:`LEGACY_TEMPORARY_AGE`). The temporary of a live process, or of any process on
    another host sharing the directory, is never touched.

    Parameters
    ----------
    path : str or path-like
    write : callable
        Receives the open handle.
    binary : bool
        Open the handle in binary mode.

    Returns
    -------
    str
        ``path``.
    """
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    name = os.path.basename(path)
    remove_abandoned_temporaries(directory, name)
    fd, tmp = tempfile.mkstemp(prefix=f".{name}.{writer()}.", suffix=".part", dir=directory)
    try:
        with os.fdopen(fd, "wb" if binary else "w", **({} if binary else {"encoding": "utf-8"})) \
                as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp's 0600 would hide results from other users
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def writer():
    """``HOST.PID`` of this process, as temporaries name their writer."""
    return f"{_host()}.{os.getpid()}"


def remove_abandoned_temporaries(directory, name):
    """Delete the temporary files of writes of ``name`` in ``directory`` whose writer is gone.

    Returns
    -------
    list of str
        The names of the files deleted.
    """
    pattern = re.compile(re.escape(f".{name}.") + f"(?:{WRITER})?" + _RANDOM_PART + r"\.part")
    return remove_abandoned(directory, pattern, os.unlink)


def remove_abandoned(directory, pattern, remove):
    """Call ``remove(path)`` on each entry of ``directory`` whose name matches ``pattern`` (a
    compiled regular expression with the groups ``host`` and ``pid``, the writer's) and whose
    writer is gone: a process on this host that no longer exists. An entry without a writer
    (``host`` unmatched) counts as abandoned after :data:`LEGACY_TEMPORARY_AGE`.

    Returns
    -------
    list of str
        The names of the entries removed.
    """
    removed = []
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return removed
    for entry in entries:
        match = pattern.fullmatch(entry.name)
        if match and _abandoned(entry, match["host"], match["pid"]):
            try:
                remove(entry.path)
            except OSError:  # another writer removed it first, or it is not ours to remove
                continue
            removed.append(entry.name)
    return removed


def _abandoned(entry, host, pid):
    if host is None:  # written before temporary names carried their writer
        try:
            return time.time() - entry.stat(follow_symlinks=False).st_mtime > LEGACY_TEMPORARY_AGE
        except OSError:
            return False
    return host == _host() and not _process_exists(int(pid))


def _process_exists(pid):
    if pid <= 0 or os.name != "posix":  # os.kill(pid, 0) terminates the process on Windows
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):  # another user's process, or not a real pid
        return True
    return True


def _host():
    """This machine's name as it appears in temporary file names (letters, digits and -)."""
    return re.sub(r"[^A-Za-z0-9-]", "-", socket.gethostname())[:40] or "host"


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask
