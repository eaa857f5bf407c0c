"""The pygame viewer driven by synthetic events under SDL's dummy video driver."""

import random

import pygame
import pytest
from viewer_driving import frame, wait_for_agent

from agents.players import make_player
from arena.records import load_replays
from arena.viewer.controller import Viewer
from arena.viewer.menu import GAME_CHOICES
from arena.viewer.play import main, render_screenshot
from arena.viewer.recording import load_session
from arena.viewer.thinking import Thinker
from envs import get_game

SIZE = (900, 640)


pytestmark = pytest.mark.usefixtures("pygame_started")


def _frame(viewer: Viewer) -> pygame.Surface:
    return frame(viewer, SIZE)


def _click(viewer: Viewer, pos) -> None:
    viewer.handle(pygame.event.Event(pygame.MOUSEBUTTONDOWN, button=1, pos=pos))


def _cell_center(viewer: Viewer, action: int) -> tuple[int, int]:
    rect = viewer.game.action_rect(action, viewer.board_rect.size)
    return (viewer.board_rect.left + rect.centerx, viewer.board_rect.top + rect.centery)


def test_whole_game_by_mouse_against_an_agent_is_recorded(tmp_path):
    viewer = Viewer("tictactoe", seats=("human", "alphabeta:2"), record_dir=tmp_path)
    rng = random.Random(0)
    clicks = 0
    while not viewer.session.over:
        _frame(viewer)
        legal = viewer.session.legal.nonzero()[:, 0].tolist()
        before = viewer.session.cursor
        _click(viewer, _cell_center(viewer, rng.choice(legal)))
        assert viewer.session.cursor == before + 1, "a click on a legal cell plays it"
        clicks += 1
        wait_for_agent(viewer)
    _frame(viewer)
    records = load_replays(next(tmp_path.glob("tictactoe*.jsonl")))
    assert len(records) == 1
    assert records[0]["moves"] == viewer.session.actions
    assert len(records[0]["moves"]) in (2 * clicks - 1, 2 * clicks)


def test_click_puts_the_piece_where_the_click_was():
    viewer = Viewer("connect_four", seats=("human", "human"), record_dir=None)
    _frame(viewer)
    board = viewer.board_rect
    column_rect = viewer.game.action_rect(3, board.size)
    # the bottom cell of column 3, where the first stone lands
    target = (board.left + column_rect.centerx, board.top + column_rect.bottom - column_rect.width // 2)
    before = _frame(viewer).get_at(target)
    _click(viewer, (board.left + column_rect.centerx, board.top + column_rect.top + 10))
    after = _frame(viewer).get_at(target)
    assert viewer.session.actions == [3]
    assert before != after
    assert after.r > 150 and after.g < 110 and after.b < 110, f"expected the first player's red stone, got {after}"
    # a click outside the board plays nothing and says why
    _click(viewer, (board.right + 5, board.bottom - 5))
    assert viewer.session.actions == [3]


def test_illegal_clicks_are_ignored_with_a_hint():
    viewer = Viewer("tictactoe", seats=("human", "human"), record_dir=None)
    _frame(viewer)
    center = _cell_center(viewer, 4)
    _click(viewer, center)
    _click(viewer, center)  # occupied now
    assert viewer.session.actions == [4] and viewer.message == "illegal move"


def test_undo_redo_swap_resign_new():
    viewer = Viewer("tictactoe", seats=("human", "human"), record_dir=None)
    _frame(viewer)
    for a in (0, 4, 8):
        _click(viewer, _cell_center(viewer, a))
    viewer.undo()
    assert viewer.session.cursor == 2 and viewer.session.actions == [0, 4, 8]
    viewer.redo()
    assert viewer.session.cursor == 3
    viewer.undo()
    _click(viewer, _cell_center(viewer, 2))  # a new move replaces the future
    assert viewer.session.actions == [0, 4, 2]
    viewer.resign()
    assert viewer.session.over and viewer.session.winner == 0  # second player (to move) resigned
    viewer.swap_sides()
    viewer.new_game()
    assert viewer.session.cursor == 0 and not viewer.session.over


def test_monkey_thousands_of_random_events():
    rng = random.Random(1)
    keys = [
        pygame.K_u,
        pygame.K_r,
        pygame.K_n,
        pygame.K_s,
        pygame.K_x,
        pygame.K_h,
        pygame.K_p,
        pygame.K_LEFT,
        pygame.K_RIGHT,
        pygame.K_HOME,
        pygame.K_END,
        pygame.K_F1,
        pygame.K_a,
        pygame.K_c,
        pygame.K_m,
        pygame.K_1,
        pygame.K_5,
        pygame.K_9,
        pygame.K_PLUS,
        pygame.K_MINUS,
    ]
    for game, seats in (
        ("connect_four", ("human", "random")),
        ("go", ("human", "human")),
        ("othello", ("random", "human")),
    ):
        viewer = Viewer(
            game,
            {"size": 6} if game == "othello" else ({"size": 5} if game == "go" else {}),
            seats=seats,
            record_dir=None,
        )
        for n in range(1200):
            if rng.random() < 0.6:
                pos = (rng.randrange(SIZE[0]), rng.randrange(SIZE[1]))
                viewer.handle(pygame.event.Event(pygame.MOUSEBUTTONDOWN, button=1, pos=pos))
            else:
                key = rng.choice(keys)
                viewer.handle(pygame.event.Event(pygame.KEYDOWN, key=key, unicode=pygame.key.name(key)[:1], mod=0))
            viewer.quit_to_menu = False
            if n % 10 == 0:
                _frame(viewer)
            if viewer.thinker is not None:
                viewer.thinker.wait(5)
        viewer.close()


def test_screenshot_command_and_replay_round_trip(tmp_path):
    out = tmp_path / "shot.png"
    assert main(["connect_four", "--opponent", "human", "--screenshot", str(out), "--moves", "3 3 4"]) == 0
    image = pygame.image.load(str(out))
    assert image.get_size() == (1000, 720)
    viewer = Viewer("connect_four", seats=("human", "human"), record_dir=tmp_path)
    _frame(viewer)
    for a in (3, 2, 3, 2, 3, 2, 3):
        viewer.try_move(a)
    _frame(viewer)  # game over: recorded
    path = next(tmp_path.glob("connect_four*.jsonl"))
    session = load_session(path)
    assert session.cursor == 0
    session.jump(len(session.states) - 1)
    assert session.actions == [3, 2, 3, 2, 3, 2, 3] and session.over and session.winner == 0
    game = viewer.game
    assert bool((game.planes(session.state) == game.planes(viewer.session.state)).all())
    assert render_screenshot(
        Viewer("connect_four", seats=("human", "human"), review=session, record_dir=None), tmp_path / "review.png"
    ).is_file()


def test_go_game_played_in_the_viewer_exports_to_sgf(tmp_path):
    from arena.records import parse_sgf
    from arena.viewer.replay import main as replay_main

    viewer = Viewer("go", {"size": 5}, seats=("human", "human"), record_dir=tmp_path)
    _frame(viewer)
    moves = [6, 7, 12, 13, 25, 25]  # four stones, then two passes end the game
    for a in moves:
        viewer.try_move(a)
    _frame(viewer)
    assert viewer.session.over
    replays = next(tmp_path.glob("go*.jsonl"))
    sgf = tmp_path / "game.sgf"
    assert replay_main([str(replays), "--sgf", str(sgf)]) == 0
    parsed = parse_sgf(sgf.read_text())
    assert parsed["game"] == "go" and tuple(parsed["board_shape"]) == (5, 5) and parsed["moves"] == moves
    session = load_session(sgf)
    session.jump(len(moves))
    assert session.over and session.state.board.tolist() == viewer.session.state.board.tolist()


def test_the_bundled_model_of_the_board_size_plays(model_dir):
    model_dir.add(get_game("go", size=7))
    viewer = Viewer("go", {"size": 7}, seats=("human", "bundled:8"), record_dir=None)
    assert viewer.players[1].name.startswith("bundled:") and "no bundled model" not in (viewer.message or "")
    viewer.close()
    viewer = Viewer("go", {"size": 9}, seats=("human", "bundled:8"), record_dir=None)
    assert viewer.players[1].name.startswith("rollout") and "no bundled model" in viewer.message
    viewer.close()


def test_go_7x7_from_the_menu_plays_the_shipped_model():
    name, options = GAME_CHOICES["go 7x7"]
    viewer = Viewer(name, options, seats=("human", "bundled:16"), record_dir=None)
    assert viewer.players[1].name.startswith("bundled:") and viewer.notice == ""
    assert viewer.players[1].settings["path"].endswith("go_7.pt")
    viewer.try_move(24)  # D4, the centre
    wait_for_agent(viewer)
    assert viewer.session.state.moves.tolist() == [2] and viewer.session.last_action not in (None, 24)
    viewer.close()


def test_game_without_a_bundled_model_gets_a_search_opponent(model_dir):
    viewer = Viewer("gomoku", {"size": 9}, seats=("human", "bundled:16"), record_dir=None)
    assert viewer.players[1].name.startswith("rollout") and "no bundled model" in viewer.message
    viewer.try_move(40)
    wait_for_agent(viewer)
    assert viewer.session.state.moves.tolist() == [2]
    viewer.close()


def test_thinker_moves_now():
    game = get_game("connect_four")
    player = make_player("rollout:100000", game)
    t = Thinker(player, game, game.init(1))
    t.stop()
    assert t.wait(30) and t.error is None and 0 <= t.action < 7 and t.progress == 1.0


def test_screenshot_moves_are_read_in_the_game_s_move_text(tmp_path, capsys):
    from arena.viewer.play import _session_from_text

    c4 = get_game("connect_four")
    assert _session_from_text(c4, "4 4 3").actions == [3, 3, 2]  # 1-based columns, as `gamelab agent` writes them
    assert _session_from_text(c4, "4,4, 3").actions == [3, 3, 2]  # commas too
    go = get_game("go", size=9)
    assert _session_from_text(go, "dd ee pass 60").actions == [30, 40, 81, 60]  # SGF points, the pass, an action id
    chess = get_game("chess")
    session = _session_from_text(chess, "e2e4,e7e5")
    assert [chess.move_to_uci(session.states[k], 0, a) for k, a in enumerate(session.actions)] == ["e2e4", "e7e5"]
    out = tmp_path / "shot.png"
    assert main(["connect_four", "--opponent", "human", "--screenshot", str(out), "--moves", "4 8"]) == 2
    err = capsys.readouterr().err
    assert "move 2 (8)" in err and "column" in err and not out.exists()
