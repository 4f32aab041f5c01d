"""Guest: allocates without bound (the memory limit)."""

import wit_world
from wit_world.imports import types


class WitWorld(wit_world.WitWorld):
    def handler(self, request: types.ExecuteRequest) -> types.ExecuteResponse:
        kept = []
        while True:
            kept.append(bytearray(1024 * 1024))
