"""Two builds of the app, receiving the same studies in alternating rounds (issue 9).

    python benchmarks/paired_receive.py --b . [--a OTHER_TREE] [--mode window|headless] [--rounds 16] [--objects 100]

`receive.py` starts one receiver at a time; on a machine whose speed drifts by a third
within minutes, two single runs compare the minutes as much as the code. Here both builds
run side by side for the whole measurement (A and B, each the `intu_desktop` package of a
source tree, given by its folder; `git worktree add /tmp/before HEAD~1` makes one), and
each round sends a new study of 512×512 CT objects to one and then to the other, the order
alternating. Each round gives the ratio B ÷ A of DCMTK `storescu`'s seconds; the output is
every round's times, the median of those ratios and how many rounds B was faster in.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from receive_peers import dcmtk, free_port, send, write_channel  # noqa: E402

NODE_MODULES = Path("intu_desktop/pipeline/node/node_modules")


def _start(tree: Path, mode: str, folder: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    channel = write_channel(folder / "channel", port, tcp_tuning=True, deliveries=folder / "deliveries")
    env = {**os.environ, "PYTHONPATH": str(tree), "QT_QPA_PLATFORM": "offscreen"}
    argv = [sys.executable, "-m", "intu_desktop", *(["--headless"] if mode == "headless" else []),
            "--channel", str(channel), "--data-dir", str(folder / "data")]
    log = open(folder / "app.log", "wb")  # noqa: SIM115 - open for the process's life
    # cwd: a folder without a package of the same name, so PYTHONPATH decides which build runs.
    proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=folder)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{tree}: the app exited with {proc.returncode}; see {folder / 'app.log'}")
        echo = subprocess.run([dcmtk("echoscu"), "-aec", "INTU_SCP", "127.0.0.1", str(port)], capture_output=True)
        if echo.returncode == 0:
            return proc, port
        time.sleep(0.2)
    raise RuntimeError(f"{tree}: no answer to C-ECHO within 2 minutes")


def _studies(folder: Path, rounds: int, objects: int) -> list[list[str]]:
    import numpy as np
    from receive_data import _ct_template, write_series

    rng = np.random.default_rng(9)
    template = _ct_template(512, rng)
    return [write_series(template, folder / f"study{n:02d}", objects, rng) for n in range(rounds)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--a", type=Path, default=HERE.parent, help="source tree of build A (default: this one)")
    parser.add_argument("--b", type=Path, required=True, help="source tree of build B")
    parser.add_argument("--mode", choices=("window", "headless"), default="window")
    parser.add_argument("--rounds", type=int, default=16)
    parser.add_argument("--objects", type=int, default=100, help="512×512 CT objects per study")
    parser.add_argument("--work", type=Path, default=None)
    args = parser.parse_args(argv)
    trees = {"A": args.a.resolve(), "B": args.b.resolve()}
    for tree in trees.values():
        if not (tree / "intu_desktop").is_dir():
            parser.error(f"{tree} holds no intu_desktop package")
        modules = tree / NODE_MODULES
        if not modules.exists() and (HERE.parent / NODE_MODULES).exists():
            modules.symlink_to(HERE.parent / NODE_MODULES)  # a fresh worktree: the TypeScript toolchain
    work = Path(args.work or tempfile.mkdtemp(prefix="paired-receive-"))
    print(f"generating {args.rounds} studies of {args.objects} objects in {work} ...", flush=True)
    studies = _studies(work / "studies", args.rounds, args.objects)
    apps = {}
    try:
        for name, tree in trees.items():
            folder = work / name
            folder.mkdir(parents=True, exist_ok=True)
            apps[name] = _start(tree, args.mode, folder)
        time.sleep(5)  # both idle before the first round
        seconds: dict[str, list[float]] = {"A": [], "B": []}
        for n, files in enumerate(studies):
            for name in ("A", "B") if n % 2 == 0 else ("B", "A"):
                result = send(apps[name][1], files, nodelay=False)
                if result.returncode != 0:
                    raise RuntimeError(f"round {n + 1}, {name}: storescu failed: {result.error}")
                seconds[name].append(result.seconds)
                time.sleep(1.5)  # the pipeline's deferred work, then quiet
            print(f"round {n + 1:2d}: A {seconds['A'][-1]:.3f} s  B {seconds['B'][-1]:.3f} s", flush=True)
    finally:
        for proc, _port in apps.values():
            proc.terminate()
            proc.wait(60)
    ratios = [b / a for a, b in zip(seconds["A"], seconds["B"])]
    stalls = {name: (work / name / "app.log").read_text("utf-8", "replace").count("ui-stall") for name in apps}
    print(f"A: {trees['A']}\nB: {trees['B']}\n{args.mode}, {args.rounds} rounds of {args.objects} objects")
    print(f"median seconds: A {statistics.median(seconds['A']):.3f}, B {statistics.median(seconds['B']):.3f}")
    print(f"B ÷ A per round: median {statistics.median(ratios):.3f}; B faster in "
          f"{sum(r < 1 for r in ratios)} of {len(ratios)} rounds")
    print(f"ui-stall lines: A {stalls['A']}, B {stalls['B']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
