"""Guest: tries to read host files and list `/`; answers JSON of what happened."""

import json
import os

import wit_world
from wit_world.imports import types


def attempt(action):
    try:
        return {"ok": repr(action())[:200]}
    except Exception as err:
        return {"error": type(err).__name__}


def read(path):
    with open(path) as file:
        return file.read()


def write(path):
    with open(path, "w") as file:
        return file.write("x")


class WitWorld(wit_world.WitWorld):
    def handler(self, request: types.ExecuteRequest) -> types.ExecuteResponse:
        seen = {
            "passwd": attempt(lambda: read("/etc/passwd")),
            "hostname": attempt(lambda: read("/etc/hostname")),
            "list_root": attempt(lambda: os.listdir("/")),
            "list_cwd": attempt(lambda: os.listdir(".")),
            "write_tmp": attempt(lambda: write("/tmp/extplane-guest-was-here")),
            "environ": dict(os.environ),
        }
        return types.ExecuteResponse(status=200, headers=[], body=json.dumps(seen).encode())
