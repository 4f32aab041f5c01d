"""Guest: tries a TCP connect, a UDP send and a DNS lookup to the canary the body names."""

import json
import socket

import wit_world
from wit_world.imports import types


def attempt(action):
    try:
        return {"ok": repr(action())[:200]}
    except Exception as err:
        return {"error": type(err).__name__}


def connect(host, port):
    with socket.create_connection((host, port), timeout=2) as connection:
        connection.sendall(b"GET / HTTP/1.0\r\n\r\n")
        return connection.recv(100)


def send_udp(host, port):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        return sock.sendto(b"hello", (host, port))


class WitWorld(wit_world.WitWorld):
    def handler(self, request: types.ExecuteRequest) -> types.ExecuteResponse:
        target = json.loads(request.http.body)
        host, port = target["host"], target["port"]
        seen = {
            "tcp": attempt(lambda: connect(host, port)),
            "udp": attempt(lambda: send_udp(host, port)),
            "dns": attempt(lambda: socket.getaddrinfo("localhost", port)),
        }
        return types.ExecuteResponse(status=200, headers=[], body=json.dumps(seen).encode())
