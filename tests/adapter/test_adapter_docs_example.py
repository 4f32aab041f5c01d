"""The examples in docs/adapters.md run as documented, against real sink servers."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.adapter.sinks import SinkLog, serve_audit, serve_metering

DOC = Path(__file__).resolve().parents[2] / "docs" / "adapters.md"


def load_example(defines: str) -> Callable[..., Any]:
    """The python block of the doc that defines `defines`, executed; that function."""
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.DOTALL)
    [example] = [block for block in blocks if f"def {defines}(" in block]
    namespace: dict[str, Any] = {"__name__": "adapters_doc"}
    exec(compile(example, str(DOC), "exec"), namespace)
    function: Callable[..., Any] = namespace[defines]
    return function


def test_the_threads_example_delivers_every_event() -> None:
    run_agents = load_example("run_agents")
    log = SinkLog()
    with serve_metering(log) as address:
        run_agents(address)

    assert sorted(event.task for event in log.stored) == [f"task-{i}" for i in range(4)]
    assert all(event.event_id and event.HasField("timestamp") for event in log.stored)


async def test_the_asyncio_example_delivers_every_event() -> None:
    serve_requests = load_example("serve_requests")
    log = SinkLog()
    with serve_audit(log) as address:
        await serve_requests(address)

    assert sorted(event.resource for event in log.stored) == sorted(
        f"task/t-{i}" for i in range(10)
    )
