"""Chess in the viewer, driven by synthetic mouse and key events under SDL's dummy video driver: click-click and
drag moves, the picked piece's targets, promotion, the flipped board, check, the game's end and its reason, a
whole game against an agent, Stockfish as the opponent."""

from __future__ import annotations

import random

import pygame
import pytest
import torch
from viewer_driving import check_recorded, frame, wait_for_agent

from agents.external_engine import find_engine
from arena.viewer import chessboard
from arena.viewer.controller import Viewer
from arena.viewer.play import main as play_main
from arena.viewer.session import GameSession, result_text
from envs import get_game
from envs.chess_draw import square_rect
from envs.chess_san import legal_uci, parse_san

SIZE = (1000, 720)


pytestmark = pytest.mark.usefixtures("pygame_started")


def _frame(viewer: Viewer) -> pygame.Surface:
    return frame(viewer, SIZE)


def _center(viewer: Viewer, square: str) -> tuple[int, int]:
    board = viewer.board_rect
    rect = square_rect(square, board.size, viewer.game.board_shape, viewer.chess.flipped)
    return rect.move(board.topleft).center


def _event(viewer: Viewer, kind: int, pos: tuple[int, int]) -> None:
    if kind == pygame.MOUSEMOTION:
        viewer.handle(pygame.event.Event(kind, pos=pos, rel=(0, 0), buttons=(1, 0, 0)))
    else:
        viewer.handle(pygame.event.Event(kind, button=1, pos=pos))


def _click(viewer: Viewer, square: str) -> None:
    pos = _center(viewer, square)
    _event(viewer, pygame.MOUSEBUTTONDOWN, pos)
    _event(viewer, pygame.MOUSEBUTTONUP, pos)
    _frame(viewer)


def _drag(viewer: Viewer, frm: str, to: str) -> None:
    a, b = _center(viewer, frm), _center(viewer, to)
    _event(viewer, pygame.MOUSEBUTTONDOWN, a)
    _event(viewer, pygame.MOUSEMOTION, ((a[0] + b[0]) // 2, (a[1] + b[1]) // 2))
    _frame(viewer)  # the piece drawn under the mouse mid-drag
    _event(viewer, pygame.MOUSEMOTION, b)
    _event(viewer, pygame.MOUSEBUTTONUP, b)
    _frame(viewer)


def _uci(viewer: Viewer) -> list[str]:
    s = viewer.session
    return [viewer.game.move_to_uci(s.states[k], 0, a) for k, a in enumerate(s.actions[: s.cursor])]


def _fen(viewer: Viewer) -> str:
    return viewer.game.to_fen(viewer.session.state)[0]


def _session(sans: list[str], **kwargs) -> GameSession:
    game = get_game("chess")
    session = GameSession(game, **kwargs)
    for san in sans:
        session.play(parse_san(game, session.state, san))
    return session


def test_click_click_and_drag_moves_and_the_targets_shown():
    viewer = Viewer("chess", seats=("human", "human"), record_dir=None)
    _frame(viewer)
    _click(viewer, "e2")
    assert viewer.chess.picked == "e2"
    surface = _frame(viewer)
    for target, marked in (("e3", True), ("e4", True), ("e5", False), ("d3", False)):
        pixel = tuple(surface.get_at(_center(viewer, target)))[:3]
        plain = (240, 217, 181) if target in ("e4", "d3") else (181, 136, 99)
        assert (pixel != plain) == marked, f"{target}: {pixel}"
    _click(viewer, "e4")
    _drag(viewer, "g8", "f6")
    _drag(viewer, "g1", "g5")  # not a knight move: the knight goes back, nothing is played
    assert viewer.message == "illegal move"
    _click(viewer, "f7")  # black's pawn while white is to move
    assert viewer.chess.picked is None and viewer.message == "that piece cannot move"
    _drag(viewer, "g1", "f3")
    assert _uci(viewer) == ["e2e4", "g8f6", "g1f3"]
    assert [chessboard.move_name(viewer, k) for k in (1, 2, 3)] == ["e4", "Nf6", "Nf3"]


def test_promotion_choice_by_click_and_by_key():
    moves = ["a4", "b5", "axb5", "a6", "bxa6", "Bb7", "axb7", "Nc6"]  # a white pawn on b7; a8 and b8 to promote on
    viewer = Viewer("chess", seats=("human", "human"), record_dir=None, review=_session(moves))
    viewer.reviewing = False
    _frame(viewer)
    _click(viewer, "b7")
    _click(viewer, "b8")
    assert viewer.chess.promotion is not None and viewer.session.cursor == 8, "a promotion asks for the piece"
    rects = dict((p, r) for r, p in chessboard._promotion_rects(viewer))
    assert list(rects) == list("qnrb") and rects["q"].center == _center(viewer, "b8")
    _event(viewer, pygame.MOUSEBUTTONDOWN, rects["n"].center)
    assert _uci(viewer)[-1] == "b7b8n" and _fen(viewer).startswith("rN1qkbnr")
    viewer.undo()
    _frame(viewer)
    _click(viewer, "b7")
    _click(viewer, "a8")
    viewer.handle(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_r, unicode="r", mod=0))  # R: a rook, not redo
    assert _uci(viewer)[-1] == "b7a8r"
    viewer.undo()
    _frame(viewer)
    _click(viewer, "b7")
    _click(viewer, "a8")
    _click(viewer, "h1")  # a click away from the choice cancels it
    assert viewer.chess.promotion is None and viewer.session.cursor == 8


def test_flip_turns_the_board_and_clicks_with_it():
    viewer = Viewer("chess", seats=("human", "human"), record_dir=None)
    _frame(viewer)
    before = _center(viewer, "a1")
    viewer.handle(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_f, unicode="f", mod=0))
    _frame(viewer)
    assert viewer.chess.flipped and _center(viewer, "h8") == before
    _click(viewer, "d2")
    _click(viewer, "d4")
    assert _uci(viewer) == ["d2d4"]
    # a person playing black alone sees the board from black's side, and again after swapping sides
    black = Viewer("chess", seats=("alphabeta:1", "human"), record_dir=None)
    assert black.chess.flipped
    black.swap_sides()
    assert not black.chess.flipped
    black.close()


def test_check_and_checkmate_by_clicks_with_the_reason():
    viewer = Viewer("chess", seats=("human", "human"), record_dir=None)
    _frame(viewer)
    for frm, to in (("f2", "f3"), ("e7", "e5"), ("g2", "g4"), ("d8", "h4")):
        _click(viewer, frm)
        _click(viewer, to)
    surface = _frame(viewer)
    assert viewer.session.over and viewer.session.winner == 1
    assert result_text(viewer.session, ("White", "Black")) == "Black (human) wins by checkmate"
    e1 = _center(viewer, "e1")
    rect = square_rect("e1", viewer.board_rect.size, (8, 8))
    corner = surface.get_at((e1[0] - rect.width // 2 + 3, e1[1]))
    assert corner.r > corner.g + 40, f"the mated king's square glows red, got {corner}"
    assert chessboard.move_name(viewer, 4) == "Qh4#"
    _click(viewer, "e1")
    assert viewer.message.startswith("the game is over")


@pytest.mark.parametrize(
    "sans,termination,text",
    [
        (
            "e3 a5 Qh5 Ra6 Qxa5 h5 h4 Rah6 Qxc7 f6 Qxd7+ Kf7 Qxb7 Qd3 Qxb8 Qh7 Qxc8 Kg6 Qe6".split(),
            "stalemate",
            "Draw by stalemate",
        ),
        ("Nf3 Nf6 Ng1 Ng8 Nf3 Nf6 Ng1".split(), "threefold_repetition", "Draw by threefold repetition"),
    ],
    ids=["stalemate", "repetition"],
)
def test_draw_reasons_are_named(sans, termination, text):
    session = _session(sans)
    assert session.over and session.result()["termination"] == termination
    assert result_text(session, ("White", "Black")) == text
    assert session.record()["termination"] == termination


def test_insufficient_material_and_fifty_moves_are_named():
    game = get_game("chess")
    for fen, move, words in (
        ("8/8/8/4k3/8/8/3Kq3/8 w - - 0 1", "d2e2", "Draw by insufficient material"),
        ("8/8/8/4k3/8/8/3K4/7R w - - 98 80", "h1h2", "Draw by the fifty-move rule"),
    ):
        state = game.from_fen(fen)
        session = GameSession(game, states=[state])
        session.play(legal_uci(game, state)[move])
        assert result_text(session, ("White", "Black")) == words


def test_whole_game_by_clicks_against_an_agent_is_recorded(tmp_path):
    viewer = Viewer("chess", {"max_moves": 40}, seats=("human", "alphabeta:1"), record_dir=tmp_path)
    rng = random.Random(0)
    while not viewer.session.over:
        _frame(viewer)
        moves = chessboard.position(viewer).moves
        frm = rng.choice(sorted(moves))
        to = rng.choice(sorted(moves[frm]))
        before = viewer.session.cursor
        if rng.random() < 0.5:
            _click(viewer, frm)
            _click(viewer, to)
        else:
            _drag(viewer, frm, to)
        if viewer.chess.promotion is not None:
            chessboard.choose_promotion(viewer, "q")
        assert viewer.session.cursor == before + 1
        wait_for_agent(viewer)
    _frame(viewer)
    check_recorded(viewer, tmp_path, "alphabeta:1")
    viewer.close()


def test_stockfish_answers_a_move_and_leaves_with_the_viewer():
    try:
        find_engine("stockfish")
    except Exception:
        pytest.skip("Stockfish is not installed (apt-get install stockfish)")
    viewer = Viewer("chess", seats=("human", "uci:stockfish:Skill Level=0:nodes=500"), record_dir=None)
    _frame(viewer)
    _click(viewer, "e2")
    _click(viewer, "e4")
    for _ in range(100):
        viewer.update()
        if viewer.thinker is not None:
            viewer.thinker.wait(10)
        if viewer.session.cursor == 2:
            break
    assert viewer.session.cursor == 2 and viewer.session.to_move == 0
    process = viewer.players[1]._proc.proc
    viewer.close()
    assert process.wait(5) is not None


BAD = [
    (["connect_four", "--opponent", "stockfish"], "stockfish"),
    (["chess", "--level", "25"], "--level"),
    (["chess", "--opponent", "alphabeta:x"], "alphabeta:x"),
]


@pytest.mark.parametrize("argv,named", BAD, ids=[" ".join(a) for a, _ in BAD])
def test_bad_chess_play_input_is_one_error_line(argv, named, capsys, tmp_path):
    assert play_main([*argv, "--screenshot", str(tmp_path / "x.png")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and named in err[0], err


def test_screenshot_with_a_player_spec(tmp_path):
    game = get_game("chess")
    state = game.init(1)
    moves = []
    for uci in ("e2e4", "e7e5", "d1h5"):
        a = legal_uci(game, state)[uci]
        moves.append(str(a))
        state = game.step(state, torch.tensor([a]))
    out = tmp_path / "chess.png"
    argv = ["chess", "--opponent", "alphabeta:1", "--screenshot", str(out), "--moves", " ".join(moves)]
    assert play_main(argv) == 0
    assert pygame.image.load(str(out)).get_size() == SIZE


def test_checkpoint_opponent_answers_and_hints_draw_arrows(tmp_path):
    from agents.network import PolicyValueNet
    from core.checkpoint import save_checkpoint

    game = get_game("chess")
    torch.manual_seed(0)
    net = PolicyValueNet(tuple(game.planes_shape), game.num_actions, blocks=1, channels=8)
    payload = {"game": {"name": game.name, "options": dict(game.options)}, "net_config": net.config}
    payload["model"] = net.state_dict()
    path = save_checkpoint(tmp_path / "chess.pt", payload, kind="alphazero")
    viewer = Viewer("chess", seats=("human", f"az:{path}:16"), record_dir=None)
    _frame(viewer)

    def board() -> bytes:
        return pygame.image.tobytes(_frame(viewer).subsurface(viewer.board_rect), "RGB")

    plain = board()
    viewer.toggle_hints()
    for _ in range(200):  # the hint search for the start position
        _frame(viewer)
        if viewer.hint_info() is not None:
            break
        if viewer.hint_thinker is not None:
            viewer.hint_thinker.wait(10)
    assert viewer.hint_info() is not None
    assert board() != plain, "the hint arrows are drawn on the board"
    viewer.toggle_hints()
    _click(viewer, "e2")
    _click(viewer, "e4")
    for _ in range(200):
        viewer.update()
        if viewer.session.cursor == 2:
            break
        if viewer.thinker is not None:
            viewer.thinker.wait(10)
    assert viewer.session.cursor == 2 and viewer.session.players[1].startswith("az:")
    viewer.close()


def test_gardner_minichess_by_clicks_promotion_and_checkmate():
    viewer = Viewer("gardner_chess", seats=("human", "human"), record_dir=None)
    _frame(viewer)
    assert viewer.board_rect.width == viewer.board_rect.height and _center(viewer, "e5") != _center(viewer, "a1")
    for frm, to in (("d2", "d3"), ("b5", "c3"), ("d3", "e4"), ("c3", "a2")):
        _click(viewer, frm)
        _click(viewer, to)
    _click(viewer, "e4")
    _click(viewer, "d5")  # takes the queen and promotes
    assert viewer.chess.promotion is not None and sorted(viewer.chess.promotion[1]) == ["b", "n", "q", "r"]
    viewer.handle(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_n, unicode="n", mod=0))
    assert _uci(viewer)[-1] == "e4d5n" and _fen(viewer).split()[0] == "r1bNk/pppp1/5/nPP1P/RNBQK"
    assert [chessboard.move_name(viewer, k) for k in range(1, 6)] == ["d3", "Nc3", "dxe4", "Nxa2", "exd5=N"]
    mate = Viewer("gardner_chess", seats=("human", "human"), record_dir=None)
    _frame(mate)
    for frm, to in (("b1", "c3"), ("e4", "e3"), ("d2", "e3"), ("d4", "e3"), ("d1", "d5")):
        _click(mate, frm)
        _click(mate, to)
    assert mate.session.over and chessboard.move_name(mate, 5) == "Qxd5#"
    assert result_text(mate.session, ("White", "Black")) == "White (human) wins by checkmate"
    black = Viewer("gardner_chess", seats=("alphabeta:1", "human"), record_dir=None)
    _frame(black)
    assert black.chess.flipped and _center(black, "e1")[1] < _center(black, "e5")[1]
    black.close()
