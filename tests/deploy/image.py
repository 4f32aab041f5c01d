"""What deploy/Dockerfile says about the image, read with Docker's own parser."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import dockerfile

DOCKERFILE = Path(__file__).resolve().parents[2] / "deploy" / "Dockerfile"


@dataclass(frozen=True)
class Image:
    env: dict[str, str]
    entrypoint: tuple[str, ...]
    cmd: tuple[str, ...]
    uid: int
    gid: int
    volumes: tuple[PurePosixPath, ...]
    workdir: PurePosixPath
    # uid and gid given to the user the image creates (groupadd/useradd).
    created_uid: int
    created_gid: int


def _one(commands: list[dockerfile.Command], name: str) -> dockerfile.Command:
    matching = [c for c in commands if c.cmd.upper() == name]
    assert len(matching) == 1, f"the Dockerfile needs exactly one {name}"
    return matching[0]


def _env(commands: list[dockerfile.Command]) -> dict[str, str]:
    env: dict[str, str] = {}
    for command in commands:
        if command.cmd.upper() == "ENV":
            pairs = command.value
            env.update(zip(pairs[::2], pairs[1::2], strict=True))
    # Values are used as written: nothing here expands "$VAR".
    assert not any("$" in value for value in env.values()), env
    return env


def _option(commands: list[dockerfile.Command], pattern: str) -> int:
    runs = " ".join(" ".join(c.value) for c in commands if c.cmd.upper() == "RUN")
    found = re.search(pattern, runs)
    assert found, f"no {pattern!r} in the Dockerfile's RUN lines"
    return int(found.group(1))


def load_image() -> Image:
    commands = list(dockerfile.parse_file(str(DOCKERFILE)))
    entrypoint, cmd = _one(commands, "ENTRYPOINT"), _one(commands, "CMD")
    # The exec form (JSON): the shell form would wrap the command in `/bin/sh -c`,
    # which would receive SIGTERM instead of the server.
    assert entrypoint.json
    assert cmd.json
    user = _one(commands, "USER").value[0]
    assert re.fullmatch(r"\d+:\d+", user), f"USER {user}: numeric uid:gid, for runAsNonRoot"
    uid, gid = (int(part) for part in user.split(":"))
    volumes = [PurePosixPath(v) for c in commands if c.cmd.upper() == "VOLUME" for v in c.value]
    return Image(
        env=_env(commands),
        entrypoint=tuple(entrypoint.value),
        cmd=tuple(cmd.value),
        uid=uid,
        gid=gid,
        volumes=tuple(volumes),
        workdir=PurePosixPath(_one(commands, "WORKDIR").value[0]),
        created_uid=_option(commands, r"useradd\b[^&]*--uid (\d+)"),
        created_gid=_option(commands, r"groupadd\b[^&]*--gid (\d+)"),
    )
