"""The capabilities an install can be granted, read from the host contracts.

Each `alga.extension.v1` host interface declares the capability it needs in
its descriptor (`option (required_capability) = "cap:…"`). The known names
are exactly those: a new interface is covered by annotating it, with no list
to keep here. The enforcement that later reads the same option per RPC uses
`required_capabilities()` too.
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache
from types import MappingProxyType
from typing import Any

import extplane_protos.alga.extension.v1 as alga_v1
from extplane_protos.alga.extension.v1 import capability_pb2

_REQUIRED: Any = capability_pb2.required_capability


@cache
def required_capabilities() -> MappingProxyType[str, str]:
    """Each host service's full name → the capability it requires."""
    found: dict[str, str] = {}
    for info in pkgutil.iter_modules(alga_v1.__path__):
        if not info.name.endswith("_pb2"):
            continue
        module = importlib.import_module(f"{alga_v1.__name__}.{info.name}")
        for service in module.DESCRIPTOR.services_by_name.values():
            options = service.GetOptions()
            if options.HasExtension(_REQUIRED):
                found[service.full_name] = options.Extensions[_REQUIRED]
    return MappingProxyType(dict(sorted(found.items())))


@cache
def known_capabilities() -> tuple[str, ...]:
    """Every capability name a host interface requires, sorted, each once."""
    return tuple(sorted(set(required_capabilities().values())))
