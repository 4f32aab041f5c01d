"""The data directory and the files in it are the service user's alone.

Databases, keys and their journals hold tenants' data: the directory is
created 0700 and every file in it 0600, whatever the process umask. A
directory that already exists (e.g. a mounted volume, whose mode its owner
chose) is left as it is.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

DIRECTORY_MODE = 0o700
FILE_MODE = 0o600


def ensure_private_directory(path: Path) -> None:
    """Create `path` (and missing parents) as 0700 when it does not exist."""
    if path.is_dir():
        return
    path.mkdir(mode=DIRECTORY_MODE, parents=True, exist_ok=True)
    # mkdir's mode is filtered by the umask; the directory must not be.
    os.chmod(path, DIRECTORY_MODE)


def touch_private_file(path: Path) -> None:
    """Create `path` empty and 0600 when absent (SQLite then gives its journal
    and WAL files the same mode as the database file)."""
    ensure_private_directory(path.parent)
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE))


def write_private_file_once(path: Path, data: bytes) -> bool:
    """Write `data` to `path` (0600, fsynced) unless it exists; False when it did.

    Two processes doing this at once end with one file: each writes a
    candidate beside `path` and links it into place, and a link never replaces.
    """
    ensure_private_directory(path.parent)
    candidate = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    fd = os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        try:
            os.link(candidate, path)
        except FileExistsError:
            return False
    finally:
        candidate.unlink(missing_ok=True)
    _fsync_directory(path.parent)
    return True


def replace_private_file(path: Path, data: bytes) -> None:
    """Write `data` to `path` (0600, fsynced), replacing it atomically: a reader
    sees the old content or the new one, never a part."""
    ensure_private_directory(path.parent)
    candidate = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    fd = os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(candidate, path)
    finally:
        candidate.unlink(missing_ok=True)
    _fsync_directory(path.parent)


def _fsync_directory(path: Path) -> None:
    directory = os.open(path, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
