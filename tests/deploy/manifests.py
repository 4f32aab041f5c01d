"""Reading deploy/*.yaml as Kubernetes would run them with the image of deploy/Dockerfile.

Every reader takes the variant's folder: `DEPLOY` (behind a mesh sidecar, the
default) or `PROXYLESS_MTLS`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from types import UnionType
from typing import Any, get_args

import yaml
from pydantic import BaseModel

from extplane.config import CONFIG_FILE_ENV, Settings
from tests.deploy.image import Image

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
PROXYLESS_MTLS = DEPLOY / "proxyless-mtls"
VARIANTS = (DEPLOY, PROXYLESS_MTLS)
ENV_PREFIX = "EXTPLANE_"


def documents(name: str, variant: Path = DEPLOY) -> dict[str, dict[str, Any]]:
    loaded = list(yaml.safe_load_all((variant / f"{name}.yaml").read_text()))
    return {document["kind"]: document for document in loaded}


def pod_spec(name: str, variant: Path = DEPLOY) -> dict[str, Any]:
    spec: dict[str, Any] = documents(name, variant)["Deployment"]["spec"]["template"]["spec"]
    return spec


def container(name: str, variant: Path = DEPLOY) -> dict[str, Any]:
    (only,) = pod_spec(name, variant)["containers"]
    assert isinstance(only, dict)
    return only


def container_env(name: str, variant: Path = DEPLOY) -> dict[str, str]:
    return {entry["name"]: entry["value"] for entry in container(name, variant).get("env", [])}


def pod_env(image: Image, name: str, variant: Path = DEPLOY) -> dict[str, str]:
    """The container's environment: the image's ENV, then the manifest's env over it."""
    return {**image.env, **container_env(name, variant)}


def ports(name: str, variant: Path = DEPLOY) -> dict[str, int]:
    return {port["name"]: port["containerPort"] for port in container(name, variant)["ports"]}


@dataclass(frozen=True)
class Mount:
    path: PurePosixPath
    read_only: bool
    volume: dict[str, Any]


def mounts(name: str, variant: Path = DEPLOY) -> list[Mount]:
    volumes = {volume["name"]: volume for volume in pod_spec(name, variant).get("volumes", [])}
    return [
        Mount(PurePosixPath(m["mountPath"]), bool(m.get("readOnly", False)), volumes[m["name"]])
        for m in container(name, variant).get("volumeMounts", [])
    ]


def mount_holding(name: str, path: PurePosixPath, variant: Path = DEPLOY) -> Mount | None:
    """The volume mounted at or above `path` (the deepest, as the kernel resolves it)."""
    holding = [m for m in mounts(name, variant) if path == m.path or m.path in path.parents]
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
        if isinstance(annotation, UnionType):  # `ClientTls | None` nests as ClientTls does
            annotation = next(arg for arg in get_args(annotation) if arg is not type(None))
        nested = isinstance(annotation, type) and issubclass(annotation, BaseModel)
        model = annotation if nested else None
    return tuple(path)
