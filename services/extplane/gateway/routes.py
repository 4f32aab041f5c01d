"""The route table: which binding serves an HTTP method and raw path."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import grpc

from extplane.gateway.errors import BindingError, RequestError
from extplane.gateway.registry import HttpBinding


@dataclass(frozen=True)
class RouteMatch:
    binding: HttpBinding
    path_values: dict[str, str]


class MethodNotAllowedError(RequestError):
    def __init__(self, allowed: Sequence[str]) -> None:
        # grpc-gateway answers a known path with the wrong method this way too.
        super().__init__(grpc.StatusCode.UNIMPLEMENTED, "method not allowed", http_status=405)
        self.allowed = tuple(sorted(set(allowed)))


class RouteTable:
    """Bindings tried most specific first: literal segments outrank wildcards."""

    def __init__(self, bindings: Iterable[HttpBinding]) -> None:
        ordered = sorted(bindings, key=lambda b: b.template.specificity(), reverse=True)
        seen: dict[tuple[str, str], str] = {}
        for binding in ordered:
            key = (binding.http_method, binding.template.source)
            if key in seen:
                raise BindingError(
                    f"{binding.http_method} {binding.template.source} is bound by both "
                    f"{seen[key]} and {binding.method.full_name}"
                )
            seen[key] = binding.method.full_name
        self._bindings = tuple(ordered)

    @property
    def bindings(self) -> tuple[HttpBinding, ...]:
        return self._bindings

    def service_names(self) -> list[str]:
        return sorted({binding.service_name for binding in self._bindings})

    def match(self, http_method: str, raw_path: str) -> RouteMatch:
        """The binding for this request; 404 for an unknown path, 405 for a wrong method."""
        allowed: list[str] = []
        for binding in self._bindings:
            values = binding.template.match(raw_path)
            if values is None:
                continue
            if binding.http_method == http_method:
                return RouteMatch(binding, values)
            allowed.append(binding.http_method)
        if allowed:
            raise MethodNotAllowedError(allowed)
        raise RequestError(grpc.StatusCode.NOT_FOUND, "not found", http_status=404)
