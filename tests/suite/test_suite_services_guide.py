"""docs/services.md, the guide to building a service on the kit, names only files
and kit names that exist."""

from __future__ import annotations

import re
from pathlib import Path

import extplane.runtime
import extplane.storage

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "docs" / "services.md"
SEARCHED = [ROOT / "services" / "extplane", ROOT / "clients" / "python", ROOT]


def test_every_file_the_guide_names_exists() -> None:
    named = set(re.findall(r"`([\w/]+\.py)`", GUIDE.read_text()))
    assert len(named) > 15
    missing = [name for name in named if not any((base / name).exists() for base in SEARCHED)]
    assert missing == []


def test_the_kit_names_the_guide_uses_are_exported() -> None:
    text = GUIDE.read_text()
    for name in ("ServiceKit", "Serving", "RetentionLoop", "SinkSettings", "once_per_registry"):
        assert name in text
        assert name in extplane.runtime.__all__
    for name in ("open_store", "postgres_sql", "GroupCommitter", "SqliteDatabase"):
        assert name in text
        assert name in extplane.storage.__all__
