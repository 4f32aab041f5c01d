"""A container's command run directly on this machine, as the image and a manifest say.

There is no container engine here. What a container would give the process is
laid out under a temporary directory instead: each volume is a folder, and
everything else of the container's filesystem (read-only in the manifests) is
a `rootfs` folder that must stay empty. Absolute paths in the environment are
moved accordingly; nothing else of the image's or the manifest's settings is
changed, except what the caller overrides (and says so).
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import psutil

from tests.deploy.image import Image
from tests.e2e.cli_process import RunningCli, start_cli

# Where the project's console scripts are: what the image has on its PATH.
SCRIPTS_DIR = Path(sys.executable).parent


@dataclass(frozen=True)
class ContainerFilesystem:
    """Container paths -> folders here: one per mount, and `rootfs` for the rest."""

    root: Path
    mounts: Mapping[PurePosixPath, Path]

    @classmethod
    def lay_out(cls, root: Path, mount_paths: Sequence[PurePosixPath]) -> ContainerFilesystem:
        mounts = {path: root / "volumes" / path.relative_to("/") for path in mount_paths}
        for folder in mounts.values():
            folder.mkdir(parents=True)
        (root / "rootfs").mkdir()
        return cls(root, mounts)

    @property
    def rootfs(self) -> Path:
        return self.root / "rootfs"

    def host_path(self, path: PurePosixPath) -> Path:
        holding = [m for m in self.mounts if path == m or m in path.parents]
        if not holding:
            return self.rootfs / path.relative_to("/")
        mount = max(holding, key=lambda m: len(m.parts))
        return self.mounts[mount] / path.relative_to(mount)

    def environment(self, env: Mapping[str, str]) -> dict[str, str]:
        """`env` with each absolute path moved to its folder here."""
        return {
            name: str(self.host_path(PurePosixPath(value))) if value.startswith("/") else value
            for name, value in env.items()
        }

    def rootfs_files(self) -> list[Path]:
        return [path for path in self.rootfs.rglob("*") if not path.is_dir()]


def base_environment() -> dict[str, str]:
    """This machine's environment without any EXTPLANE_ setting, scripts on PATH."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("EXTPLANE_")}
    env["PATH"] = f"{SCRIPTS_DIR}{os.pathsep}{env.get('PATH', '')}"
    return env


def start_container(
    image: Image,
    args: Sequence[str] | None,
    env: Mapping[str, str],
    filesystem: ContainerFilesystem,
    expect: set[str],
) -> RunningCli:
    """ENTRYPOINT + (args or CMD), as a container runs it, in the image's WORKDIR."""
    executable = shutil.which(image.entrypoint[0], path=base_environment()["PATH"])
    assert executable is not None, f"{image.entrypoint[0]} is not installed"
    workdir = filesystem.host_path(image.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    return start_cli(
        list(image.cmd if args is None else args),
        {**base_environment(), **filesystem.environment(env)},
        expect,
        command=[executable, *image.entrypoint[1:]],
        cwd=workdir,
    )


def listening(pid: int) -> set[tuple[str, int]]:
    """(address, port) of every TCP socket the process listens on."""
    return {
        (connection.laddr.ip, connection.laddr.port)
        for connection in psutil.Process(pid).net_connections(kind="tcp")
        if connection.status == psutil.CONN_LISTEN
    }


def files_open_for_writing(pid: int) -> list[Path]:
    return [
        Path(opened.path)
        for opened in psutil.Process(pid).open_files()
        if opened.mode != "r"  # type: ignore[attr-defined]  # Linux adds .mode
    ]
