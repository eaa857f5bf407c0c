"""Project-level checks: CI runs the README's test command, and the gamelab command answers --help."""

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
