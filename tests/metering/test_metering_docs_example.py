"""The Python example in docs/metering.md works as documented, against the
service configured with the documented TOML (rate card and token)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import cast

from metering_support import DOC, documented_toml

from extplane.config import load_settings
from extplane.metering.service import MeteringService
from extplane.runtime.kit import ServiceKit
from tests.loopback import runtime_server

TOKEN = "docs-example-token-0123456789"
WRITER_TOKEN = "docs-example-writer-0123456789"


def load_example() -> Callable[[str, str, str], Awaitable[str]]:
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.DOTALL)
    [example] = [block for block in blocks if "async def record_and_price" in block]
    namespace: dict[str, object] = {"__name__": "metering_example"}
    exec(compile(example, str(DOC), "exec"), namespace)
    return cast(Callable[[str, str, str], Awaitable[str]], namespace["record_and_price"])


async def test_the_documented_example_records_and_prices_an_event(tmp_path: Path) -> None:
    # The documented token is configured by its SHA-256: swap in ours.
    digests = iter(hashlib.sha256(token.encode()).hexdigest() for token in (TOKEN, WRITER_TOKEN))
    toml = re.sub(
        r'sha256 = "[0-9a-f]{64}"', lambda _: f'sha256 = "{next(digests)}"', documented_toml()
    )
    config = tmp_path / "extplane.toml"
    config.write_text(toml)
    settings = load_settings(config, data_dir=tmp_path)
    kit = ServiceKit.for_directory(tmp_path, auth=settings.auth)
    service = MeteringService(settings.metering, kit)
    server = runtime_server()
    service.add_to_server(server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    await service.start()
    try:
        answer = await load_example()(f"127.0.0.1:{port}", WRITER_TOKEN, TOKEN)
    finally:
        await server.stop(None)
        await service.stop()

    # gpt-4o: 12 000 in x 2.50 + 800 out x 10.00 per million = 0.03 + 0.008
    assert answer == "0.038 USD"
