"""Shogi and minishogi in the viewer, driven by synthetic mouse and key events under SDL's dummy video driver:
click-click moves with the targets shown, drops from the hand, the promotion choice by click and by key, check and
checkmate with the reason, the move list in Western notation, kanji and Latin piece names, a whole minishogi game by
clicks against an agent (recorded), and a replay of a KIF record. The same in a real window under Xvfb (xdotool
clicks, screenshots) is docs/viewer_xvfb_shogi.py, run by the slow test at the end."""

from __future__ import annotations

import os
import random
import subprocess
import sys
from pathlib import Path

import pygame
import pytest
import torch
from viewer_driving import check_recorded, frame, wait_for_agent

from arena.viewer import shogiboard, xdriver
from arena.viewer.controller import Viewer
from arena.viewer.session import GameSession, result_text
from envs import get_game, shogi_draw
from envs.shogi_notation import parse_square

SIZE = (1000, 720)
ROOT = Path(__file__).resolve().parents[2]


pytestmark = pytest.mark.usefixtures("pygame_started")


def _frame(viewer: Viewer) -> pygame.Surface:
    return frame(viewer, SIZE)


def _press(viewer: Viewer, pos: tuple[int, int]) -> None:
    viewer.handle(pygame.event.Event(pygame.MOUSEBUTTONDOWN, button=1, pos=pos))
    viewer.handle(pygame.event.Event(pygame.MOUSEBUTTONUP, button=1, pos=pos))
    _frame(viewer)


def _at(viewer: Viewer, square: str) -> tuple[int, int]:
    board, n = viewer.board_rect, viewer.game.size
    return shogi_draw.square_rect(n, parse_square(square, n), board.size).move(board.topleft).center


def _hand(viewer: Viewer, side: int, letter: str) -> tuple[int, int]:
    board, n = viewer.board_rect, viewer.game.size
    hands = viewer.session.state.hands[0].tolist()
    t = "PLNSBRGK".index(letter) + 1
    rect = next(r for s, k, _, r in shogi_draw.hand_rects(n, board.size, hands) if (s, k) == (side, t))
    return rect.move(board.topleft).center


def _click_usi(viewer: Viewer, usi: str, promote: bool | None = None) -> None:
    """Play a USI move by clicks: the piece (on the board or in the mover's hand), the target, the choice."""
    side = viewer.session.to_move
    _press(viewer, _hand(viewer, side, usi[0]) if usi[1] == "*" else _at(viewer, usi[:2]))
    _press(viewer, _at(viewer, usi[2:4]))
    if viewer.shogi.promotion is not None:
        rects = dict((w, r) for r, w in shogiboard.choice_rects(viewer))
        _press(viewer, rects["+" if promote else "="].center)


def _usi(viewer: Viewer) -> list[str]:
    s = viewer.session
    return [viewer.game.move_to_usi(s.states[k], 0, a) for k, a in enumerate(s.actions[: s.cursor])]


def test_clicks_targets_drops_and_the_promotion_choice(tmp_path):
    viewer = Viewer("shogi", seats=("human", "human"), record_dir=None)
    _frame(viewer)
    _press(viewer, _at(viewer, "7g"))
    assert viewer.shogi.picked == "7g"
    targets = sorted(shogiboard.position(viewer).moves["7g"])
    assert targets == [parse_square("7f", 9)]
    _press(viewer, _at(viewer, "7f"))
    _click_usi(viewer, "3c3d")
    _press(viewer, _at(viewer, "8h"))
    _press(viewer, _at(viewer, "2b"))  # the bishop may promote: the choice opens
    assert viewer.shogi.promotion is not None and viewer.session.cursor == 2
    surface = _frame(viewer)
    pygame.image.save(surface, str(tmp_path / "choice.png"))
    rects = {w: r for r, w in shogiboard.choice_rects(viewer)}
    _press(viewer, rects["+"].center)
    _click_usi(viewer, "3a2b")
    assert viewer.session.state.hands[0, 0].tolist()[4] == 1  # sente holds the bishop
    _click_usi(viewer, "B*4e")  # a drop: the piece in the hand, then the square
    assert _usi(viewer) == ["7g7f", "3c3d", "8h2b+", "3a2b", "B*4e"]
    names = [shogiboard.move_name(viewer, k) for k in range(1, 6)]
    assert names == ["P-7f", "P-3d", "Bx2b+", "Sx2b", "B*4e"]
    # gote's bishop in hand cannot be picked by sente, and a key answers the choice
    _click_usi(viewer, "8c8d")
    _press(viewer, _at(viewer, "4e"))
    _press(viewer, _at(viewer, "6c"))  # 4e-6c may promote (into the zone)
    assert viewer.shogi.promotion is not None
    viewer.handle(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_EQUALS, unicode="="))
    assert _usi(viewer)[-1] == "4e6c" and shogiboard.move_name(viewer, 7) == "Bx6c="
    pygame.image.save(_frame(viewer), str(tmp_path / "moves.png"))
    viewer.close()


def test_check_checkmate_and_the_end_reason():
    game = get_game("shogi")
    viewer = Viewer("shogi", seats=("human", "human"), record_dir=None)
    viewer.session = GameSession(game, start="4k4/9/3PP4/9/9/9/9/9/4K4 b GS 1")
    _frame(viewer)
    _click_usi(viewer, "5c5b", promote=False)
    assert bool(viewer.session.state.check[0]) and not viewer.session.over
    _click_usi(viewer, "5a6a")
    _click_usi(viewer, "G*6b")
    assert viewer.session.over and game.termination(viewer.session.state) == ["checkmate"]
    assert result_text(viewer.session, ("sente", "gote")) == "sente (human) wins by checkmate"
    surface = _frame(viewer)
    king = shogi_draw.square_rect(9, parse_square("6a", 9), viewer.board_rect.size).move(viewer.board_rect.topleft)
    assert tuple(surface.get_at((king.left + 3, king.top + 3)))[:3] == (235, 70, 60)  # the checked king's square
    assert viewer.session.record()["start"] == "4k4/9/3PP4/9/9/9/9/9/4K4 b GS 1"
    assert [shogiboard.move_name(viewer, k) for k in (1, 2, 3)] == ["P-5b=", "K-6a", "G*6b"]
    viewer.close()


def test_kanji_where_a_cjk_font_is_found_latin_symbols_otherwise(monkeypatch):
    assert shogi_draw.piece_name(1, False) == "P" and shogi_draw.piece_name(14 + 16, False) == "+R"
    assert shogi_draw.piece_name(8, True) == "玉" and shogi_draw.piece_name(8 + 16, True) == "王"
    assert shogi_draw.piece_name(10, True) == "杏"
    viewer = Viewer("minishogi", seats=("human", "human"), record_dir=None)
    shots = {}
    for latin in (True, False):
        shogi_draw.cjk_font_path.cache_clear()
        shogi_draw._fonts.clear()
        if latin:
            monkeypatch.setenv("GAMELAB_SHOGI_LATIN", "1")
            assert shogi_draw.cjk_font_path() is None
        else:
            monkeypatch.delenv("GAMELAB_SHOGI_LATIN")
            if shogi_draw.cjk_font_path() is None:
                continue  # no CJK font installed: the Latin picture is all there is
        shots[latin] = pygame.image.tostring(_frame(viewer), "RGB")
    assert len(set(shots.values())) == len(shots)  # kanji, where found, draw other pictures than letters
    shogi_draw.cjk_font_path.cache_clear()
    shogi_draw._fonts.clear()
    viewer.close()


def test_whole_minishogi_game_by_clicks_against_an_agent_is_recorded(tmp_path):
    viewer = Viewer("minishogi", {"max_moves": 60}, seats=("human", "alphabeta:1"), record_dir=tmp_path)
    rng = random.Random(0)
    while not viewer.session.over:
        _frame(viewer)
        moves = shogiboard.position(viewer).moves
        frm = rng.choice(sorted(moves))
        to = rng.choice(sorted(moves[frm]))
        usi = rng.choice(moves[frm][to])[0]
        before = viewer.session.cursor
        _click_usi(viewer, usi, promote=usi.endswith("+"))
        assert viewer.session.cursor == before + 1 and _usi(viewer)[-1] == usi
        wait_for_agent(viewer)
    _frame(viewer)
    check_recorded(viewer, tmp_path, "alphabeta:1")
    viewer.close()


def test_replay_of_a_kif_record_shows_its_moves(tmp_path):
    from core.cli import main
    from envs.shogi_records import write_record

    game = get_game("shogi")
    state, moves = game.init(1), []
    for usi in ["7g7f", "3c3d", "8h2b+", "3a2b"]:
        moves.append(game.usi_to_action(state, 0, usi))
        state = game.step(state, torch.tensor([moves[-1]]))
    rec = {"game": {"name": "shogi", "options": {}}, "players": ["a", "b"], "moves": moves, "result": 0.0,
           "reason": "resignation"}  # fmt: skip
    path = tmp_path / "g.kif"
    path.write_bytes(write_record(game, "kif", rec).encode("cp932"))
    shot = tmp_path / "g.png"
    assert main(["replay", str(path), "--screenshot", str(shot)]) == 0
    picture = pygame.image.load(str(shot))
    assert picture.get_size() == SIZE
    from arena.viewer.recording import load_session

    session = load_session(path)
    assert session.actions == moves and session.resigned == 0


@pytest.mark.slow
@pytest.mark.skipif(bool(xdriver.missing_tools()), reason=f"needs {', '.join(xdriver.missing_tools())}")
def test_minishogi_game_by_clicks_in_a_real_window(tmp_path):
    """docs/viewer_xvfb_shogi.py in its own Xvfb: seed 6 clicks two drops from the hand and a promotion on the
    choice's tile, and is mated in 16 plies; the viewer recorded the clicked moves. A stuck run is stopped (SIGTERM:
    the script stops its window and Xvfb) well inside a 10-minute budget, and its output is shown."""
    cmd = [sys.executable, str(ROOT / "docs" / "viewer_xvfb_shogi.py"), "minishogi", "--xvfb", "--seed", "6"]
    cmd += ["--shots", str(tmp_path / "m")]
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop("SDL_VIDEODRIVER", None)
    log = tmp_path / "out.txt"
    with log.open("w") as out:
        script = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
        try:
            script.wait(timeout=480)
        except subprocess.TimeoutExpired:
            pass
        finally:
            xdriver.stop(script)
    text = log.read_text()
    assert script.returncode == 0, text[-3000:]
    assert "result: checkmate" in text and "clicked: 2 drops, promotion choices promote" in text, text[-3000:]
    assert "recorded: " in text and " checkmate" in text.split("recorded: ")[1], text[-3000:]
    for shot in ("picked", "choice", "end"):
        assert pygame.image.load(str(tmp_path / f"m_{shot}.png")).get_size() == SIZE
