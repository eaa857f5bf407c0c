"""The viewer's board facts, action table and command line: winning lines, coordinates, scores, bad input."""

import os
import subprocess
import sys

import pygame
import pytest

from arena.records import append_records
from arena.viewer.actions import ACTIONS, action_for_key, available
from arena.viewer.board import score_lines, target_rect, winning_cells
from arena.viewer.controller import Viewer
from arena.viewer.play import main as play_main
from arena.viewer.replay import main as replay_main
from arena.viewer.session import GameSession
from envs import get_game
from envs.draw import action_name

SIZE = (1000, 720)


@pytest.fixture(scope="module", autouse=True)
def _pygame():
    pygame.font.init()
    yield


def _session(name, moves, **options):
    return GameSession.from_moves(get_game(name, **options), moves)


def test_winning_line_of_connect_four_and_tictactoe():
    s = _session("connect_four", [3, 3, 4, 4, 5, 5, 6])  # red: bottom row, columns 4-7
    assert s.winner == 0
    assert winning_cells(s.game, s.state, 0) == [38, 39, 40, 41]
    s = _session("tictactoe", [0, 1, 4, 2, 8])  # X: the main diagonal
    assert winning_cells(s.game, s.state, s.winner) == [0, 4, 8]
    assert winning_cells(s.game, s.state, None) == []


def test_winning_chain_of_hex_joins_the_winners_edges():
    game = get_game("hex", size=4)
    # red (first, joins top and bottom) bends from column 1 to column 0; blue fills its column 3 (no win for it)
    s = GameSession.from_moves(game, [1, 3, 5, 7, 8, 11, 12])
    assert s.over and s.winner == 0
    path = winning_cells(game, s.state, 0)
    assert path == [1, 5, 8, 12]
    board = s.state.board[0].tolist()
    assert all(board[a] == 1 for a in path)
    neighbours = {(-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0)}
    for a, b in zip(path, path[1:]):
        assert (b // 4 - a // 4, b % 4 - a % 4) in neighbours


def test_coordinates_as_players_write_them():
    go = get_game("go", size=9)
    assert [action_name(go, a) for a in (0, 8, 72, 80, 81)] == ["A9", "J9", "A1", "J1", "pass"]  # GTP: no I
    othello = get_game("othello")
    assert action_name(othello, 19) == "d3" and action_name(othello, 37) == "f5"  # the usual opening moves
    assert action_name(get_game("connect_four"), 3) == "4"
    assert action_name(get_game("hex", size=11), 0) == "a1"


def test_go_captures_and_area_score():
    game = get_game("go", size=5)
    # black surrounds the white stone on B2 (action 6): A2, B1, C2, B3 -> captured with the last of them
    s = GameSession.from_moves(game, [5, 6, 1, 24, 7, 23, 11])
    assert int(s.state.board[0, 6]) == 0
    lines = score_lines(game, s, show_score=True)
    assert lines[0] == "captures: black 1, white 0"
    owner = game.area_owner(s.state)[0]
    assert float(owner.sum()) - game.komi == pytest.approx(float(game.score(s.state)[0]))
    assert lines[1].startswith(f"area B {int((owner > 0).sum())}, W {int((owner < 0).sum())} + 7.5")
    assert score_lines(game, s, show_score=False) == lines[:1]


def test_othello_disc_count():
    s = _session("othello", [19])  # d3 flips d4: 4 black, 1 white
    assert score_lines(s.game, s, False) == ["discs: black 4, white 1"]


def test_connect_four_targets_the_landing_cell():
    s = _session("connect_four", [3, 3])
    column = s.game.action_rect(3, (700, 600))
    cell = target_rect(s.game, s.state, 3, (700, 600))
    assert cell.width == column.width and cell.bottom < column.bottom - cell.height  # above the two discs
    assert column.top + 3 * cell.height - 2 <= cell.top <= column.top + 3 * cell.height + 2  # row 3 of 6


def test_action_table_drives_keys_buttons_and_help():
    viewer = Viewer("go", {"size": 5}, seats=("human", "human"), record_dir=None)
    viewer.draw(pygame.Surface(SIZE))
    for action in available(viewer):
        if action.run is None or action.name == "menu":
            continue
        key = getattr(pygame, action.keys[0]) if action.keys else 0
        assert action_for_key(viewer, key, action.chars[0] if action.chars else "") is action, action.name
    labels = {b.label: b.key for b in viewer.buttons}
    assert labels["Resign"] == "X" and labels["Swap"] == "S" and labels["Score"] == "E" and labels["Pass"] == "P"
    viewer.handle(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_e, unicode="e", mod=0))
    assert viewer.score_on
    assert labels["Owner"] == "O"
    viewer.handle(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_o, unicode="o", mod=0))
    assert viewer.ownership_on
    surface = pygame.Surface(SIZE)
    viewer.draw(surface)  # the map drawn on the empty board: nobody owns a point yet
    assert all(abs(o) < 1 for o in viewer.ownership_map())
    # review mode: no Resign or Swap; Autoplay shows the key that runs it
    review = Viewer(
        "connect_four", seats=("human", "human"), record_dir=None, review=_session("connect_four", [3, 3, 4])
    )
    review.draw(pygame.Surface(SIZE))
    labels = {b.label: b.key for b in review.buttons}
    assert "Resign" not in labels and "Swap" not in labels and labels["Autoplay"] == "A"
    assert action_for_key(review, pygame.K_a, "a").name == "autoplay"
    assert {a.name for a in ACTIONS} >= {"undo", "redo", "hints", "help", "continue"}


def test_move_list_click_goes_to_that_move():
    viewer = Viewer("tictactoe", seats=("human", "human"), record_dir=None)
    for a in (4, 0, 8):
        viewer.try_move(a)
    viewer.draw(pygame.Surface(SIZE))
    rect, number = next((r, n) for r, n in viewer.move_rects if n == 1)
    viewer.handle(pygame.event.Event(pygame.MOUSEBUTTONDOWN, button=1, pos=rect.center))
    assert viewer.session.cursor == 1 and viewer.session.actions == [4, 0, 8]


def test_long_texts_stay_inside_the_panel():
    viewer = Viewer("gomoku", {"size": 9}, seats=("human", "human"), record_dir=None)
    viewer.session.players = ["az:" + "x" * 80 + ":800", "human"]
    viewer.say("no bundled model for Gomoku size=9 komi=7.5: playing rollout:800 " * 3, 60)
    surface = pygame.Surface(SIZE)
    viewer.draw(surface)
    panel_right = SIZE[0] - 12
    # the margin right of the panel keeps the background colour: no text ran past the panel's edge
    column = [tuple(surface.get_at((x, y)))[:3] for x in range(panel_right + 1, SIZE[0]) for y in range(SIZE[1])]
    assert set(column) == {(32, 36, 44)}


BAD_PLAY = [
    (["nosuchgame"], "nosuchgame"),
    (["connect_four", "--opponent", "banana"], "banana"),
    (["go", "--option", "size=4"], "size=4"),
    (["go", "--option", "sise=9"], "sise"),
    (["connect_four", "--window", "10x10"], "10x10"),
    (["connect_four", "--window", "big"], "big"),
    (["connect_four", "--option", "nonsense"], "nonsense"),
    (["connect_four", "--sims", "0"], "--sims"),
]


@pytest.mark.parametrize("argv,named", BAD_PLAY, ids=[" ".join(a) for a, _ in BAD_PLAY])
def test_bad_play_input_is_one_error_line(argv, named, capsys):
    assert play_main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and named in err[0], err


def test_corrupt_checkpoint_opponent_is_one_error_line(tmp_path, capsys):
    bad = tmp_path / "net.pt"
    bad.write_bytes(os.urandom(2000))
    assert play_main(["connect_four", "--opponent", str(bad), "--screenshot", str(tmp_path / "x.png")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and str(bad) in err[0], err


def test_replay_list_of_a_wholly_damaged_file_fails(tmp_path, capsys):
    path = tmp_path / "broken.jsonl"
    path.write_text('{"format": "gamelab-repl\nnot json\n')
    assert replay_main([str(path), "--list"]) == 2  # the damaged lines are told in the error, not as warnings
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and str(path) in err[0] and "2 damaged lines" in err[0]


def test_replay_screenshot_shows_the_final_position(tmp_path):
    s = _session("connect_four", [3, 3, 4, 4, 5, 5, 6])
    path = append_records(tmp_path / "c4.jsonl", [s.record()])
    shots = {}
    for name, extra in (("default", []), ("end", ["--move", "7"]), ("start", ["--move", "0"])):
        shots[name] = tmp_path / f"{name}.png"
        assert replay_main([str(path), "--screenshot", str(shots[name]), *extra]) == 0
    image = {k: pygame.image.tobytes(pygame.image.load(str(v)), "RGB") for k, v in shots.items()}
    assert image["default"] == image["end"] != image["start"]


def test_headless_screenshot_prints_no_sdl_noise(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("XDG_RUNTIME_DIR", "SDL_VIDEODRIVER", "DISPLAY")}
    out = tmp_path / "shot.png"
    cmd = [sys.executable, "-m", "core.cli", "play", "go", "--option", "size=9", "--opponent", "human"]
    proc = subprocess.run([*cmd, "--screenshot", str(out), "--moves", "40 30"], env=env, capture_output=True, text=True)
    assert proc.returncode == 0 and out.is_file()
    assert proc.stderr == "", proc.stderr


def test_the_shipped_example_replay_is_a_real_finished_game():
    from pathlib import Path

    from arena.viewer.recording import load_session

    session = load_session(Path(__file__).parents[2] / "replays" / "examples" / "connect_four.jsonl")
    session.jump(len(session.states) - 1)
    assert session.over and session.winner == 0 and len(session.actions) == 7


def test_ownership_map_of_a_settled_go_board():
    """Black fills a 5x5 board but two eyes: the ownership key marks every point black's, with full squares."""
    moves = [r * 5 + c for r in range(5) for c in range(5) if (r, c) not in ((0, 0), (4, 4))]
    review = GameSession.from_moves(get_game("go", size=5), [m for a in moves for m in (a, 25)][:-1])
    viewer = Viewer("go", {"size": 5}, seats=("human", "human"), record_dir=None, review=review)
    viewer.go_to(None)
    assert action_for_key(viewer, pygame.K_o, "o").name == "ownership"
    viewer.toggle_ownership()
    surface = pygame.Surface(SIZE)
    viewer.draw(surface)
    assert viewer.ownership_map() == [1.0] * 25
    eye = viewer.game.action_rect(0, viewer.board_rect.size).move(viewer.board_rect.topleft)
    assert surface.get_at(eye.center)[:3] == (30, 30, 30)  # the empty eye carries black's square
