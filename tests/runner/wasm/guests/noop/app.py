"""Guest: answers 204 and does nothing else (the benchmark's no-op); on
`/storage-get/<n>` it reads one storage entry n times and answers its value."""

import wit_world
from wit_world.imports import storage, types


class WitWorld(wit_world.WitWorld):
    def handler(self, request: types.ExecuteRequest) -> types.ExecuteResponse:
        if request.http.url.startswith("/storage-get/"):
            entry = None
            for _ in range(int(request.http.url.rsplit("/", 1)[1])):
                entry = storage.get("bench", "settings")
            return types.ExecuteResponse(status=200, headers=[], body=entry and entry.value)
        return types.ExecuteResponse(status=204, headers=[], body=None)
