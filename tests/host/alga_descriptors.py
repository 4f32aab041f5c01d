"""Every service of the Alga contract, found from the generated package
itself (not from the host's own list), so a new interface is picked up."""

from __future__ import annotations

import importlib
import pkgutil

from google.protobuf.descriptor import ServiceDescriptor

import extplane_protos.alga.extension.v1 as alga_package


def alga_services() -> list[ServiceDescriptor]:
    found = []
    for module_info in sorted(pkgutil.iter_modules(alga_package.__path__), key=lambda m: m.name):
        if not module_info.name.endswith("_pb2"):
            continue
        module = importlib.import_module(f"{alga_package.__name__}.{module_info.name}")
        found.extend(module.DESCRIPTOR.services_by_name.values())
    return found
