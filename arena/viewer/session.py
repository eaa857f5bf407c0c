"""A game being played or reviewed: the move history with a cursor, undo/redo, and its record.

One mechanism serves play and review: the history holds every position reached, the cursor says which one is
shown. Undo and redo move the cursor; a move played with the cursor before the end of the history replaces the
future (so continuing a recorded game from any point is just playing a move there).
No pygame here, so the logic is tested without a display.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import torch

from arena.records import make_record
from envs import traits
from envs.base import IllegalActionError

__all__ = ["GameSession", "result_text", "END_WORDS"]

# how a result line names the reason a game with named endings (chess: `game.termination`) ended
END_WORDS = {
    "checkmate": "by checkmate",
    "stalemate": "by stalemate",
    "insufficient_material": "by insufficient material",
    "fifty_moves": "by the fifty-move rule",
    "seventyfive_moves": "by the seventy-five-move rule",
    "threefold_repetition": "by threefold repetition",
    "max_moves": "at the move limit",
    "no_legal_move": "with no legal move left",
    "perpetual_check": "by perpetual check (sennichite)",
    "repetition": "by fourfold repetition (sennichite)",
    "impasse": "by impasse declaration (27 points)",
}


@dataclass
class GameSession:
    """A single game (batch of 1) with its history.

    Args:
        game: a batched game (envs protocol).
        players: display names of the first and second player.
    """

    game: Any
    players: list[str] = field(default_factory=lambda: ["human", "human"])
    device: str = "cpu"
    states: list[Any] = field(default_factory=list)
    actions: list[int] = field(default_factory=list)
    infos: list[dict | None] = field(default_factory=list)  # per move: {"value", "top"} when the mover searched
    cursor: int = 0
    resigned: int | None = None  # the player (0/1) who resigned in the last position of the history
    started: float = field(default_factory=time.time)
    start: str | None = None  # the text of a set-up start position (an SFEN: the game's `from_position`), or None

    def __post_init__(self) -> None:
        if not self.states:
            self.states = [traits.start_state(self.game, self.start, self.device)]
        self.cursor = min(self.cursor, len(self.states) - 1)

    # --- the position shown ---
    @property
    def state(self) -> Any:
        return self.states[self.cursor]

    @property
    def to_move(self) -> int:
        return int(self.state.player[0])

    @property
    def legal(self) -> torch.Tensor:
        """BoolTensor[A] of legal actions in the shown position (all False when the game is over)."""
        if self.over:
            return torch.zeros(self.game.num_actions, dtype=torch.bool)
        return self.game.legal_mask(self.state)[0]

    @property
    def resigned_here(self) -> bool:
        """Whether the shown position is the one a player resigned in (the end of a resigned game)."""
        return self.resigned is not None and self.at_end

    @property
    def over(self) -> bool:
        return self.resigned_here or bool(self.game.outcome(self.state)[0][0])

    @property
    def winner(self) -> int | None:
        """0 or 1 for a won game, None for a draw or a game still going."""
        if self.resigned_here:
            return 1 - self.resigned
        done, value = self.game.outcome(self.state)
        if not bool(done[0]) or float(value[0]) == 0:
            return None
        return self.to_move if float(value[0]) > 0 else 1 - self.to_move

    @property
    def last_action(self) -> int | None:
        return self.actions[self.cursor - 1] if self.cursor > 0 else None

    @property
    def at_end(self) -> bool:
        return self.cursor == len(self.states) - 1

    # --- changing it ---
    def play(self, action: int, info: dict | None = None) -> None:
        """Play an action at the cursor, dropping any moves after it.

        Raises:
            IllegalActionError: the action is not legal here (or the game is over).
        """
        if self.over:
            raise IllegalActionError(f"{self.game.name}: the game is over")
        action_t = torch.tensor([int(action)], device=self.state.player.device)
        new_state = self.game.step(self.state, action_t, check=True)
        del self.states[self.cursor + 1 :], self.actions[self.cursor :], self.infos[self.cursor :]
        self.resigned = None  # a resignation at the end of the dropped moves goes with them
        self.states.append(new_state)
        self.actions.append(int(action))
        self.infos.append(info)
        self.cursor += 1

    def resign(self, player: int | None = None) -> None:
        """The given player (default: the one to move) resigns; the moves after the cursor are dropped."""
        del self.states[self.cursor + 1 :], self.actions[self.cursor :], self.infos[self.cursor :]
        self.resigned = self.to_move if player is None else int(player)

    def undo(self, plies: int = 1) -> bool:
        """Step the cursor back (from a resignation: take it back); returns whether it moved."""
        if self.resigned_here:
            self.resigned = None
            return True
        new = max(0, self.cursor - plies)
        moved, self.cursor = new != self.cursor, new
        return moved

    def redo(self, plies: int = 1) -> bool:
        """Step the cursor forward through moves already played; returns whether it moved."""
        new = min(len(self.states) - 1, self.cursor + plies)
        moved, self.cursor = new != self.cursor, new
        return moved

    def jump(self, move_number: int) -> None:
        """Show the position after `move_number` moves (clamped to the history; a resignation shows at its end)."""
        self.cursor = max(0, min(len(self.states) - 1, int(move_number)))

    # --- records ---
    def result(self) -> dict:
        """The result as a record field: winner (0/1/None), reason, score for the first player (1, 0.5, 0) and,
        in games that name their endings (chess's `termination`: "checkmate", "stalemate", ...), termination."""
        if not self.over:
            return {"winner": None, "reason": "unfinished", "score": None, "termination": None}
        winner = self.winner
        reason = "resignation" if self.resigned_here else ("draw" if winner is None else "win")
        score = 0.5 if winner is None else float(winner == 0)
        termination = None
        if not self.resigned_here and hasattr(self.game, "termination"):
            termination = self.game.termination(self.state)[0] or None
        return {"winner": winner, "reason": reason, "score": score, "termination": termination}

    def record(self, players: list | None = None) -> dict:
        """The game up to the cursor as one replay record (arena.records format).

        Args:
            players: the two players (objects with a name, or names); default the session's player names.
        """
        result = self.result()
        return make_record(
            self.game,
            self.actions[: self.cursor],
            result["score"],
            players or self.players,
            move_info=self.infos[: self.cursor],
            duration_s=time.time() - self.started,
            reason=result["reason"],
            **({"termination": result["termination"]} if result["termination"] else {}),
            **({"start": self.start} if self.start else {}),
        )

    @classmethod
    def from_moves(cls, game: Any, moves: list[int], **kwargs: Any) -> GameSession:
        """A session with `moves` played from the start and the cursor at the end.

        Raises:
            IllegalActionError: a move is illegal where it is played (the message names the move number).
        """
        session = cls(game, **kwargs)
        for n, action in enumerate(moves):
            try:
                session.play(int(action))
            except IllegalActionError as err:
                raise IllegalActionError(f"move {n + 1} ({action}): {err}") from err
        return session


def result_text(session: GameSession, sides: tuple[str, str] = ("first player", "second player")) -> str:
    """A one-line human description of the result, e.g. 'Black (human) wins by resignation', 'Draw by stalemate'.

    Args:
        sides: what the two sides are called in this game ("Black", "White"; "Red", "Yellow").
    """
    result = session.result()
    if result["reason"] == "unfinished":
        return ""
    ending = END_WORDS.get(result["termination"] or "", "")
    if result["winner"] is None:
        return f"Draw {ending}" if ending else "Draw"
    name = session.players[result["winner"]]
    suffix = " by resignation" if result["reason"] == "resignation" else f" {ending}" if ending else ""
    return f"{sides[result['winner']]} ({name}) wins{suffix}"
