"""Reading deploy/*.yaml as Kubernetes would run them with the image of deploy/Dockerfile."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import yaml
from pydantic import BaseModel

from extplane.config import CONFIG_FILE_ENV, Settings
from tests.deploy.image import Image

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
ENV_PREFIX = "EXTPLANE_"


def documents(name: str) -> dict[str, dict[str, Any]]:
    loaded = list(yaml.safe_load_all((DEPLOY / f"{name}.yaml").read_text()))
    return {document["kind"]: document for document in loaded}


def pod_spec(name: str) -> dict[str, Any]:
    spec: dict[str, Any] = documents(name)["Deployment"]["spec"]["template"]["spec"]
    return spec


def container(name: str) -> dict[str, Any]:
    (only,) = pod_spec(name)["containers"]
    assert isinstance(only, dict)
    return only


def container_env(name: str) -> dict[str, str]:
    return {entry["name"]: entry["value"] for entry in container(name).get("env", [])}


def pod_env(image: Image, name: str) -> dict[str, str]:
    """The container's environment: the image's ENV, then the manifest's env over it."""
    return {**image.env, **container_env(name)}


def ports(name: str) -> dict[str, int]:
    return {port["name"]: port["containerPort"] for port in container(name)["ports"]}


@dataclass(frozen=True)
class Mount:
    path: PurePosixPath
    read_only: bool
    volume: dict[str, Any]


def mounts(name: str) -> list[Mount]:
    volumes = {volume["name"]: volume for volume in pod_spec(name).get("volumes", [])}
    return [
        Mount(PurePosixPath(m["mountPath"]), bool(m.get("readOnly", False)), volumes[m["name"]])
        for m in container(name).get("volumeMounts", [])
    ]


def mount_holding(name: str, path: PurePosixPath) -> Mount | None:
    """The volume mounted at or above `path` (the deepest, as the kernel resolves it)."""
    holding = [m for m in mounts(name) if path == m.path or m.path in path.parents]
    return max(holding, key=lambda m: len(m.path.parts), default=None)


def setting_path(variable: str) -> tuple[str, ...]:
    """The Settings field an `EXTPLANE_…` variable sets, e.g. ("gateway", "upstreams").

    pydantic-settings ignores an unknown top-level variable (`EXTPLANE_HOTS`);
    this raises for it, and for an unknown nested one.
    """
    assert variable.startswith(ENV_PREFIX), variable
    if variable == CONFIG_FILE_ENV:
        return ("<config file>",)
    model: type[BaseModel] | None = Settings
    path: list[str] = []
    for part in variable.removeprefix(ENV_PREFIX).lower().split("__"):
        if model is None:  # a mapping field: its keys are free
            path.append(part)
            continue
        field = model.model_fields.get(part)
        if field is None:
            raise KeyError(f"{variable}: {'.'.join([*path, part])} is not a setting")
        path.append(part)
        annotation = field.annotation
        nested = isinstance(annotation, type) and issubclass(annotation, BaseModel)
        model = annotation if nested else None
    return tuple(path)
