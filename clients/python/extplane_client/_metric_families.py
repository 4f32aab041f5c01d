"""Metric families registered once per Prometheus registry.

Several servers, sinks or test cases may share one registry, and registering a
family twice there is an error; `once_per_registry(build)` gives each registry
the families `build` makes exactly once, and forgets them with the registry.
It lives in the client package because the sink adapters need it too and the
client must not depend on the servers; `extplane.runtime` re-exports it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar
from weakref import WeakKeyDictionary

from prometheus_client import CollectorRegistry

F = TypeVar("F")


def once_per_registry(build: Callable[[CollectorRegistry], F]) -> Callable[[CollectorRegistry], F]:
    """`build(registry)` runs once per registry; later calls return its first result."""
    made: WeakKeyDictionary[CollectorRegistry, F] = WeakKeyDictionary()
    lock = threading.Lock()

    def families(registry: CollectorRegistry) -> F:
        with lock:
            found = made.get(registry)
            if found is None:
                found = made[registry] = build(registry)
            return found

    families.__doc__ = build.__doc__
    families.__name__ = build.__name__
    return families
