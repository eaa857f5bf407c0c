"""No code in agents/ or arena/ tests a registered game's name: what callers need to know about a game comes from
its traits (envs.traits). Compared, matched or looked up, a name literal would bind a caller to one game."""

import re
from pathlib import Path

import envs

ROOT = Path(__file__).resolve().parents[1]
NAMES = "|".join(re.escape(n) for n in sorted(envs.GAMES, key=len, reverse=True))
LIT = rf"""["'](?:{NAMES})["']"""
PATTERNS = [
    # game.name == "go", args.game != "hex", getattr(game, "name", None) == "go" (a protocol's command word such as
    # UCI's `cmd == "go"` is no game name)
    re.compile(rf"(?:\w*name|\w*game|getattr\([^)]*name[^)]*\))\s*(?:==|!=)\s*{LIT}"),
    re.compile(rf"{LIT}\s*(?:==|!=)\s*(?:\w+\.)*\w*(?:name|game)\b"),  # "go" == game.name
    re.compile(rf"(?<!for )\b\w+(?:\.\w+)*\s+(?:not\s+)?in\s*[(\[{{][^)\]}}]*{LIT}"),  # name in ("go", "hex")
    re.compile(rf"^\s*{LIT}\s*:.*,\s*$"),  # a table keyed by game names, one entry a line
    re.compile(rf"^\s*_?[A-Z][A-Z0-9_]*\s*(?::[^=]*)?=\s*{{.*{LIT}\s*:"),  # _OPENING_PLIES = {"go": 4, ...}
    re.compile(r"\.get\(\s*(?:\w+\.)*(?:\w*game\.name|\w*game_name|args\.game)\s*[,)]"),  # TABLE.get(game.name, 2)
    re.compile(r"\[\s*(?:\w+\.)*\w*game(?:\.name|_name)\s*\]"),  # TABLE[game.name]
]
# data tables that list games (not tests of a game): the start screen's menu entries
ALLOWED = {"arena/viewer/menu.py"}


def _offences() -> list[str]:
    found = []
    for package in ("agents", "arena"):
        for path in sorted((ROOT / package).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            if rel in ALLOWED:
                continue
            for n, line in enumerate(path.read_text().splitlines(), 1):
                code = line.split("#", 1)[0]
                if any(p.search(code) for p in PATTERNS):
                    found.append(f"{rel}:{n}: {line.strip()}")
    return found


def test_no_game_name_is_tested_in_agents_or_arena():
    assert _offences() == []


def test_the_check_finds_name_tests():
    samples = [
        'if game.name == "go":',
        "if name != 'connect_four':",
        '    if game.name in ("othello", "hex"):',
        '_OPENING_PLIES = {"tictactoe": 0, "go": 4}',
        '    "chess": chess_heuristic,',
        "return TABLE.get(game.name, 2)",
        "marks = SIDE_NAMES[game.name]",
        'if getattr(game, "name", None) != "go":',
        'if args.game == "tictactoe":',
        '"hex" == game.name',
    ]
    for sample in samples:
        assert any(p.search(sample.split("#", 1)[0]) for p in PATTERNS), sample
    for fine in [
        'get_game("go", size=9)',
        'for t in ("", "standard", "chess"):',
        'elif cmd == "go":',
        'x = {"go": dict(go)}',
        "seen.get(pl.name, 0)",
    ]:
        assert not any(p.search(fine) for p in PATTERNS), fine
