"""Writing a command's output into a file that is complete or absent."""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import IO

from extplane.cli_options import EXIT_NEGATIVE, EXIT_OK


async def write_whole(target: Path, write: Callable[[IO[bytes]], Awaitable[None]]) -> int:
    """Run `write` on a file beside `target`, then rename it into place (atomic, mode
    0600); EXIT_NEGATIVE naming the file when it cannot be written."""
    try:
        partial = tempfile.NamedTemporaryFile(  # noqa: SIM115 - renamed or removed below
            dir=target.parent, prefix=f".{target.name}.", suffix=".partial", delete=False
        )
    except OSError as error:
        print(f"extplane: cannot write {target}: {error.strerror or error}", file=sys.stderr)
        return EXIT_NEGATIVE
    try:
        with partial:
            await write(partial)
        os.replace(partial.name, target)
    except OSError as error:
        print(f"extplane: cannot write {target}: {error.strerror or error}", file=sys.stderr)
        return EXIT_NEGATIVE
    finally:
        with contextlib.suppress(FileNotFoundError):  # renamed into place
            os.unlink(partial.name)
    return EXIT_OK
