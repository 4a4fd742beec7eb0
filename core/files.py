"""Atomic file writes: a reader sees either the old file or the complete new one, never a half."""

from __future__ import annotations

import os
import tempfile


def write_atomically(path, write, *, binary=False):
    """Call ``write(handle)`` on a temporary file beside ``path``, then rename it into place.

    The temporary file is flushed to disk before the rename and removed on any failure, so an
    interrupted write leaves neither a partial ``path`` nor a stray temporary file.

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
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".part", dir=directory)
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


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask
