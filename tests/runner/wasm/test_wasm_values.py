"""Bytes cross into and out of a guest exactly, whatever their size (the list<u8>
fast path of runner/wasm/lowering.py), and an empty body stays distinct from none."""

from __future__ import annotations

import base64
import json
import os

import pytest
from wasm_support import job, response, run

pytestmark = pytest.mark.timeout(900)


@pytest.mark.parametrize("size", [0, 1, 255, 256 * 1024 + 7])
async def test_a_request_body_reaches_the_guest_byte_for_byte(size: int) -> None:
    body = json.dumps({"calls": [], "pad": base64.b64encode(os.urandom(size)).decode()}).encode()
    answer = response(await run(job("imports", body)))
    echoed = json.loads(answer.body)["request"]["http"]["body"]
    assert base64.b64decode(echoed["b64"]) == body
    assert answer.HasField("body")


async def test_an_absent_body_is_none_and_an_empty_one_is_empty() -> None:
    for body, seen in ((None, None), (b"", {"b64": ""})):
        answer = response(await run(job("imports", body)))
        assert json.loads(answer.body)["request"]["http"]["body"] == seen
