"""Soak: the receive-path fuzzers of tests/reliability/test_rel_fuzz.py with many more examples.

    python benchmarks/soak_fuzz.py [--examples 5000] [pytest options...]

Each property (raw bytes, A-ASSOCIATE-RQ, truncated and corrupted requests, P-DATA after an
association, mutated data sets) runs `examples` generated cases against one listener. A
failure prints hypothesis's minimal example; rerun with the same options to reproduce.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=5000)
    args, pytest_args = parser.parse_known_args()
    env = {**os.environ, "INTU_FUZZ_EXAMPLES": str(args.examples)}
    cmd = [sys.executable, "-m", "pytest", "tests/reliability/test_rel_fuzz.py", "-q", "-p", "no:cacheprovider",
           "-o", "timeout=0", *pytest_args]
    return subprocess.run(cmd, cwd=REPO, env=env, check=False).returncode


if __name__ == "__main__":
    raise SystemExit(main())
