"""Project-level checks: CI runs the README's test command, and the gamelab command answers --help."""

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

from core.cli import BENCHES, COMMANDS

ROOT = Path(__file__).resolve().parents[1]


def _readme_commands() -> list[str]:
    blocks = re.findall(r"```bash\n(.*?)```", (ROOT / "README.md").read_text(), flags=re.S)
    return [line.strip() for block in blocks for line in block.splitlines() if line.strip()]


def test_ci_runs_the_readme_test_command():
    test_commands = [c for c in _readme_commands() if c.endswith("python -m pytest")]
    assert len(test_commands) == 1, "the README must give exactly one test command"
    ci = (ROOT / ".ci" / "run").read_text()
    assert test_commands[0] in ci


@pytest.mark.parametrize("command", [c for c in COMMANDS if c != "bench"] + [f"bench {b}" for b in BENCHES])
def test_every_subcommand_has_help(command, capsys):
    from core.cli import main

    try:
        code = main([*command.split(), "--help"])
    except SystemExit as exit:  # argparse exits after printing help
        code = exit.code
    assert code in (0, None)
    assert "usage:" in capsys.readouterr().out.lower()


def test_unknown_subcommand_is_an_error():
    out = subprocess.run([sys.executable, "-m", "core.cli", "fly"], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 2 and "unknown command 'fly'" in out.stderr


LAYERS = {
    "core": {"core"},
    "envs": {"core", "envs"},
    "agents": {"core", "envs", "agents"},
    "arena": {"core", "envs", "agents", "arena"},
    "generative": {"core", "generative"},
}


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, top-level package) of every import in a file, function-local ones included."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(node.lineno, alias.name.split(".")[0]) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            out.append((node.lineno, node.module.split(".")[0]))
    return out


@pytest.mark.parametrize("package", sorted(LAYERS))
def test_imports_flow_one_way(package):
    """core <- envs <- agents <- arena; core <- generative: no import runs back up, not even inside a function."""
    root = Path(__file__).resolve().parents[1]
    bad = []
    for path in sorted((root / package).rglob("*.py")):
        for line, top in _imports(path):
            if top in LAYERS and top not in LAYERS[package]:
                bad.append(f"{path.relative_to(root)}:{line} imports {top}")
    assert not bad, "\n".join(bad)
