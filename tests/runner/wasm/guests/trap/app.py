"""Guest: raises, which aborts the component (a trap)."""

import wit_world
from wit_world.imports import types


class WitWorld(wit_world.WitWorld):
    def handler(self, request: types.ExecuteRequest) -> types.ExecuteResponse:
        raise RuntimeError("the trap guest gives up")
