"""What the viewer tells about a position beyond the stones: the winning line, scores, where a move lands.

No pygame drawing here (only rectangles), so each fact is tested on its own.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pygame
import torch

from arena.viewer.session import GameSession
from envs import traits

__all__ = [
    "per_state",
    "sync_hand",
    "play_or_choose",
    "refuse_pick",
    "is_chess",
    "is_shogi",
    "side_names",
    "winning_cells",
    "target_rect",
    "score_lines",
    "go_score_text",
    "go_margin",
    "hint_weights",
]


def per_state(cache: dict[int, tuple[Any, Any]], state: Any, build: Any, most: int | None = 64) -> Any:
    """`build()` for `state`, cached by the state object (the cache keeps the state so its id is not reused; at most
    `most` entries, None: no limit)."""
    hit = cache.get(id(state))
    if hit is not None and hit[0] is state:
        return hit[1]
    if most is not None and len(cache) > most:
        cache.clear()
    value = build()
    cache[id(state)] = (state, value)
    return value


def sync_hand(hand: Any, state: Any) -> None:
    """Put the hand's piece down when the shown position is not the one its pick belongs to (a move, undo, a jump
    in the move list). `hand`: a board's ChessHand or ShogiHand."""
    if hand.at is not state:
        hand.drop()
        hand.at = state


def play_or_choose(viewer: Any, hand: Any, moves: list[tuple[str, int]], target: Any, choice: Callable) -> None:
    """Play the one move to `target`, or open the promotion choice among several: `hand.promotion` = (target,
    {choice(move text): action})."""
    hand.drop()
    if len(moves) == 1:
        viewer.try_move(moves[0][1])
    else:
        hand.promotion = (target, {choice(text): action for text, action in moves})


def refuse_pick(viewer: Any, hand: Any) -> bool:
    """Whether a person may not pick a piece now (the game is over, a review, the agent's turn); if so the viewer
    says why and the piece is put down."""
    refusal = viewer.refusal()
    if refusal:
        viewer.say(refusal)
        hand.drop()
    return bool(refusal)


def is_chess(game: Any) -> bool:
    """Whether the game has chess rules as the viewer needs them (any board size): FEN and UCI move text."""
    return hasattr(game, "to_fen") and hasattr(game, "move_to_uci")


def is_shogi(game: Any) -> bool:
    """Whether the game has shogi rules as the viewer needs them (any board size): SFEN, USI move text, hands."""
    return hasattr(game, "to_sfen") and hasattr(game, "legal_usi") and hasattr(game, "move_name")


def side_names(game: Any) -> tuple[str, str]:
    """What the first and second player are called, capitalised (the game's `side_names` trait)."""
    return tuple(name[:1].upper() + name[1:] for name in traits.side_names(game))  # type: ignore[return-value]


def winning_cells(game: Any, state: Any, winner: int | None) -> list[int]:
    """The board cells that won the game (the game's `winning_cells` trait: every complete line of a k-in-a-row
    game, the shortest winning chain in Hex); [] for other games or without a winner.

    Args:
        state: a batch of one.
        winner: 0 or 1 (None: no winner, e.g. a draw).
    """
    return traits.winning_cells(game, state, 0, winner)


def target_rect(game: Any, state: Any, action: int, size: tuple[int, int]) -> pygame.Rect | None:
    """The rectangle of the cell where `action` puts a stone: in Connect Four the free cell a disc falls to (the
    action's rectangle is the whole column), elsewhere the action's own cell (the game's `target_rect` trait)."""
    return traits.target_rect(game, state, 0, action, size)


def _areas(game: Any, state: Any) -> tuple[int, int]:
    owner = game.area_owner(state)[0]
    return int((owner > 0).sum()), int((owner < 0).sum())


def go_margin(game: Any, state: Any) -> str:
    """Who leads a Go position by area score with komi, as Go programs write it: "B+1.5", "W+7.5", "even"."""
    black, white = _areas(game, state)
    margin = black - white - game.komi
    return "even" if margin == 0 else f"{'B' if margin > 0 else 'W'}+{abs(margin):g}"


def go_score_text(game: Any, state: Any) -> str:
    """The area score of a Go position: "area B 45, W 36 + 7.5: B+1.5"."""
    black, white = _areas(game, state)
    return f"area B {black}, W {white} + {game.komi:g}: {go_margin(game, state)}"


def score_lines(game: Any, session: GameSession, show_score: bool) -> list[str]:
    """The panel's score lines: the game's own (Othello's disc count); in an area-scored game (Go) the captures, and
    the area score at the end or on request."""
    state = session.state
    if not traits.area_score(game):
        return traits.score_lines(game, state, 0)
    board = state.board[0]
    on_board = [int((board > 0).sum()), int((board < 0).sum())]
    placed = [0, 0]
    for n, action in enumerate(session.actions[: session.cursor]):
        if action != game.pass_action:
            placed[int(session.states[n].player[0])] += 1
    # stones a player captured = the opponent's stones placed and no longer on the board
    lines = [f"captures: black {placed[1] - on_board[1]}, white {placed[0] - on_board[0]}"]
    if show_score or session.over:
        lines.append(go_score_text(game, state))
    return lines


def hint_weights(hint: dict) -> torch.Tensor | None:
    """FloatTensor[A]: a hint's visit shares (or its policy) summing to 1, or None without either."""
    weights = hint.get("visits", hint.get("policy"))
    if weights is None:
        return None
    w = torch.as_tensor(weights, dtype=torch.float32).reshape(-1)
    return w / w.sum().clamp_min(1e-9)
