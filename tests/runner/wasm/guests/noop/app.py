"""Guest: answers 204 and does nothing else (the benchmark's no-op)."""

import wit_world
from wit_world.imports import storage, types


class WitWorld(wit_world.WitWorld):
    def handler(self, request: types.ExecuteRequest) -> types.ExecuteResponse:
        if request.http.url == "/storage-get":
            entry = storage.get("bench", "settings")
            return types.ExecuteResponse(status=200, headers=[], body=entry.value)
        return types.ExecuteResponse(status=204, headers=[], body=None)
