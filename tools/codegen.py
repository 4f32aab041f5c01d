"""Generate every stub from protos/ — the one command behind `make generate`.

    python tools/codegen.py           regenerate Python and TypeScript stubs in place
    python tools/codegen.py --check   regenerate into a scratch folder and fail if the
                                      committed stubs differ (CI's stale-codegen check)
    python tools/codegen.py --stage   only stage google/api/*.proto for buf lint/breaking

Steps: stage google/api/*.proto from the installed googleapis-common-protos (no
registry), `buf build` one image, run grpcio-tools' protoc on that image for
Python (+ mypy-protobuf stubs), then `buf generate` for TypeScript.

Python stubs land in the `extplane_protos` package so the wheel ships no
top-level `alga` or `orloj` package; protoc writes absolute imports such as
`from alga.extension.v1 import types_pb2`, which are re-rooted under
`extplane_protos` here. Descriptor file names stay `alga/extension/v1/...`,
which is what reflection clients and other languages see.
"""

from __future__ import annotations

import argparse
import filecmp
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROTOS = ROOT / "protos"
THIRD_PARTY = ROOT / "build" / "third_party"
IMAGE = ROOT / "build" / "image.binpb"
# Our files with their source comments (compiled _pb2 modules carry none), for
# documentation generated at run time such as the gateway's OpenAPI.
SOURCE_INFO_NAME = "source_info.binpb"
PY_PACKAGE = "extplane_protos"
PY_OUT = ROOT / "clients" / "python" / PY_PACKAGE
TS_OUT = ROOT / "clients" / "typescript" / "src" / "gen"
BIN = Path(sys.executable).parent
# google/api files our protos import; copied from the installed package.
GOOGLE_API_FILES = ("annotations.proto", "http.proto", "field_behavior.proto", "httpbody.proto")
OUR_ROOTS = ("alga", "orloj", "extplane")
_IMPORT_RE = re.compile(rf"^(from|import) ({'|'.join(OUR_ROOTS)})\.", re.MULTILINE)


def stage_third_party() -> None:
    import google.api

    source = Path(next(iter(google.api.__path__)))
    target = THIRD_PARTY / "google" / "api"
    target.mkdir(parents=True, exist_ok=True)
    for name in GOOGLE_API_FILES:
        shutil.copyfile(source / name, target / name)


def run(*args: str | Path) -> None:
    """Run a generator quietly; on failure show everything it said."""
    result = subprocess.run(
        [str(a) for a in args], cwd=ROOT, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        sys.stderr.write(result.stdout + result.stderr)
        raise SystemExit(f"codegen: `{' '.join(str(a) for a in args[:3])} ...` failed")


def our_proto_files() -> list[str]:
    return sorted(str(p.relative_to(PROTOS)) for p in PROTOS.rglob("*.proto"))


def generate_python(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    run(
        sys.executable,
        "-m",
        "grpc_tools.protoc",
        f"--descriptor_set_in={IMAGE}",
        f"--plugin=protoc-gen-mypy={BIN / 'protoc-gen-mypy'}",
        f"--plugin=protoc-gen-mypy_grpc={BIN / 'protoc-gen-mypy_grpc'}",
        f"--python_out={out}",
        f"--grpc_python_out={out}",
        f"--mypy_out={out}",
        f"--mypy_grpc_out={out}",
        *our_proto_files(),
    )
    for path in sorted(out.rglob("*.py*")):
        text = path.read_text()
        rerooted = _IMPORT_RE.sub(rf"\1 {PY_PACKAGE}.\2.", text)
        if rerooted != text:
            path.write_text(rerooted)
    run(BIN / "buf", "build", "protos", "--exclude-imports", "-o", out / SOURCE_INFO_NAME)
    for folder in [out, *(p for p in out.rglob("*") if p.is_dir())]:
        (folder / "__init__.py").touch()
    (out / "py.typed").touch()


def generate_typescript(out: Path) -> None:
    plugin = ROOT / "clients" / "typescript" / "node_modules" / ".bin" / "protoc-gen-es"
    if not plugin.exists():
        run("npm", "ci", "--no-audit", "--no-fund", "--prefix", "clients/typescript")
    with tempfile.TemporaryDirectory() as scratch:
        run(BIN / "buf", "generate", "--output", scratch)
        produced = Path(scratch) / TS_OUT.relative_to(ROOT)
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(out, ignore_errors=True)
        shutil.copytree(produced, out)


def generate(py_out: Path, ts_out: Path) -> None:
    stage_third_party()
    IMAGE.parent.mkdir(parents=True, exist_ok=True)
    run(BIN / "buf", "build", "-o", IMAGE)
    shutil.rmtree(py_out, ignore_errors=True)
    generate_python(py_out)
    generate_typescript(ts_out)


def differences(expected: Path, actual: Path) -> list[str]:
    """Relative paths that differ, are missing, or are extra in `actual`."""
    found: list[str] = []

    def walk(cmp: filecmp.dircmp[str], prefix: Path) -> None:
        found.extend(str(prefix / n) for n in cmp.left_only + cmp.right_only)
        found.extend(str(prefix / n) for n in cmp.diff_files + cmp.funny_files)
        for name, sub in cmp.subdirs.items():
            walk(sub, prefix / name)

    walk(filecmp.dircmp(expected, actual, ignore=["__pycache__"]), Path())
    return sorted(found)


def check() -> int:
    with tempfile.TemporaryDirectory() as scratch:
        py_fresh, ts_fresh = Path(scratch) / "py", Path(scratch) / "ts"
        generate(py_fresh, ts_fresh)
        stale = [f"{PY_OUT.relative_to(ROOT)}/{p}" for p in differences(py_fresh, PY_OUT)]
        stale += [f"{TS_OUT.relative_to(ROOT)}/{p}" for p in differences(ts_fresh, TS_OUT)]
    if stale:
        print("generated code is stale; run `make generate` and commit:", file=sys.stderr)
        for path in stale:
            print(f"  {path}", file=sys.stderr)
        return 1
    print("generated code is up to date")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true", help="fail if committed stubs are stale")
    mode.add_argument("--stage", action="store_true", help="only stage google/api protos")
    args = parser.parse_args()
    if args.stage:
        stage_third_party()
        return 0
    if args.check:
        return check()
    generate(PY_OUT, TS_OUT)
    return 0


if __name__ == "__main__":
    sys.exit(main())
