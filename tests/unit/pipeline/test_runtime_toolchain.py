"""Finding (or failing to find) a TypeScript transpiler; never raises, says why in words."""

from __future__ import annotations

from pathlib import Path

from intu_desktop.pipeline.runtimes.toolchain import TypeScriptToolchain, find_project_transpiler


def fake_package(base: Path, name: str) -> None:
    folder = base / "node_modules" / name
    folder.mkdir(parents=True)
    (folder / "package.json").write_text(f'{{"name": "{name}", "version": "1.0.0"}}')


def shipped_without_modules(tmp_path: Path) -> Path:
    shipped = tmp_path / "shipped"
    shipped.mkdir()
    (shipped / "package.json").write_text('{"name": "x", "version": "1.0.0"}')
    (shipped / "package-lock.json").write_text('{"name": "x", "lockfileVersion": 3}')
    return shipped


def test_project_transpiler_found_upward(tmp_path: Path) -> None:
    channel = tmp_path / "src" / "channels" / "ct"
    channel.mkdir(parents=True)
    assert find_project_transpiler(channel) != tmp_path
    fake_package(tmp_path, "esbuild")
    assert find_project_transpiler(channel) == tmp_path


def test_shipped_or_project_transpiler_needs_no_install(tmp_path: Path) -> None:
    shipped = shipped_without_modules(tmp_path)
    fake_package(shipped, "typescript")
    toolchain = TypeScriptToolchain(shipped, None)
    assert toolchain.ensure_for(tmp_path / "transformer.ts") is None


def test_no_transpiler_and_no_install_dir_says_what_to_do(tmp_path: Path) -> None:
    toolchain = TypeScriptToolchain(shipped_without_modules(tmp_path), None)
    problem = toolchain.ensure_for(tmp_path / "transformer.ts")
    assert problem is not None and "npm ci --prefix intu_desktop/pipeline/node" in problem


def test_failed_install_is_reported_once(tmp_path: Path) -> None:
    toolchain = TypeScriptToolchain(
        shipped_without_modules(tmp_path),
        tmp_path / "node-toolchain",
        npm_path=str(tmp_path / "no-npm"),
    )
    first = toolchain.ensure_for(tmp_path / "transformer.ts")
    assert first is not None and first.startswith("could not install the TypeScript transpiler")
    assert toolchain.ensure_for(tmp_path / "transformer.ts") == first  # remembered, not retried
