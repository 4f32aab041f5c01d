"""The kit runs with only the client package: `extplane` (the servers) cannot be
imported, and a suite still runs against a real provider over loopback."""

from __future__ import annotations

import subprocess
import sys

PROGRAM = """
import asyncio, sys

class NoServers:
    def find_spec(self, name, path=None, target=None):
        if name == "extplane" or name.startswith("extplane."):
            raise ImportError(f"the kit imported the server package: {name}")
        return None

sys.meta_path.insert(0, NoServers())

from extplane_client.conformance import Level, Options, exit_status, run_conformance
from extplane_client.conformance.pytest_plugin import conformance_tests
from extplane_client.testing import serve_capability_provider

async def main():
    async with serve_capability_provider({"acme.invoicing": True}) as served:
        report = await run_conformance(
            "capabilities", served.address, options=Options(level=Level.FULL)
        )
    print(exit_status(report), len(report.results))

asyncio.run(main())
"""


def test_the_kit_needs_no_server_code() -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROGRAM], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["0", "10"]
