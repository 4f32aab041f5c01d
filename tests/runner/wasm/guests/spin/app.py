"""Guest: never returns (the timeout)."""

import wit_world
from wit_world.imports import types


class WitWorld(wit_world.WitWorld):
    def handler(self, request: types.ExecuteRequest) -> types.ExecuteResponse:
        count = 0
        while True:
            count += 1
