"""A USI shogi engine: `gamelab usi shogi|minishogi [--checkpoint PATH]`, for shogi GUIs, cshogi and engine matches.

    gamelab usi shogi                                  # the bundled model, else alpha-beta on material
    gamelab usi minishogi --checkpoint runs/x/checkpoints/iter_000100.pt

It is the engine loop of agents.uci (search in the background, info lines, bounded input, `go perft`) speaking USI:
    usi                 id name / id author, the options, usiok (minishogi also offers
                        `option name UCI_Variant type combo default minishogi var minishogi`, as Fairy-Stockfish)
    isready             readyok
    setoption name N value V    Simulations, ThinkTime, Threads (as agents.uci); USI_Ponder and USI_Hash are
                        accepted and ignored
    usinewgame          forget the position
    position startpos|sfen SFEN [moves M1 M2 ...]     (USI moves: 7g7f, 8h2b+, P*5e)
    go [btime MS wtime MS] [byoyomi MS | binc MS winc MS] [movetime MS] [nodes N] [depth D] [infinite] [ponder]
                        `info depth .. score cp|mate .. nodes .. nps .. time .. pv ..` lines, then `bestmove M`
                        (`bestmove resign` without a legal move); btime is sente's clock. The budget is a
                        thirtieth of the mover's clock plus 0.8 of its increment, capped at half the clock, plus
                        0.9 of the byoyomi, less a 30 ms margin. `go ponder` and `go infinite` wait for `stop`
                        or `ponderhit`
    go perft N          Fairy-Stockfish's format: `7g7f: 30` per legal root move, a blank line,
                        `Nodes searched: N`, a blank line
    stop, ponderhit     end the search now (bestmove follows)
    gameover win|lose|draw      end the search, no answer
    quit                exit
A line the engine cannot read gets `info string error: ...` and the engine reads on. Without a model of the game it
searches with iterative-deepening alpha-beta on the material evaluation of envs.shogi (`heuristic`) and says so
once in an `info string`. The game has a 1,024-ply cap here (the repetition history is kept for every ply).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, TextIO

from agents import uci
from agents.uci import GoLimits

__all__ = ["UsiEngine", "parse_usi_go", "main"]

_IGNORED_OPTIONS = ("USI_Ponder", "USI_Hash")


class _UsiGame:
    """The game under the names the UCI engine loop calls (USI text for UCI text, SFEN for FEN; no draw is only
    claimed)."""

    def __init__(self, game: Any) -> None:
        self._game = game

    def __getattr__(self, name: str) -> Any:
        return getattr(self._game, name)

    def move_to_uci(self, state: Any, i: int, action: int) -> str:
        return self._game.move_to_usi(state, i, action)

    def uci_to_action(self, state: Any, i: int, text: str) -> int:
        return self._game.usi_to_action(state, i, text)

    def from_fen(self, text: str) -> Any:
        return self._game.from_sfen(text)

    def unclaimed(self, state: Any) -> Any:
        return state


def parse_usi_go(tokens: list[str]) -> tuple[GoLimits, int, bool]:
    """(limits, byoyomi ms, ponder) of USI `go` tokens. In the limits, `wtime`/`winc` hold the clock of the first
    player (sente: USI's btime/binc), as agents.uci reads them.

    Raises:
        ValueError: an unknown word or a missing or bad number.
    """
    swap = {"btime": "wtime", "wtime": "btime", "binc": "winc", "winc": "binc"}
    out, byoyomi, ponder = [], 0, False
    i = 0
    while i < len(tokens):
        word = tokens[i]
        if word == "ponder":
            ponder = True
            i += 1
        elif word == "byoyomi":
            if i + 1 >= len(tokens) or not tokens[i + 1].isdigit():
                raise ValueError("go byoyomi needs a number")
            byoyomi = int(tokens[i + 1])
            i += 2
        else:
            out.append(swap.get(word, word))
            i += 1
    limits = uci.parse_go(out)
    if ponder:
        limits.infinite = True
    return limits, byoyomi, ponder


class UsiEngine(uci.Engine):
    """The USI engine (see the module docstring); `handle(line)` answers one line through `out`."""

    protocol = "usi"
    max_moves = 1024
    position_word = "sfen"  # `position startpos|sfen SFEN [moves ...]`
    lists_check_options = False  # `usi` lists the spin options only
    moves_checked = True  # usi_to_action refuses an illegal move itself

    def __init__(self, out: TextIO, checkpoint: Path | None = None, device: str = "cpu", game: str = "shogi") -> None:
        super().__init__(out, checkpoint, device, game)
        self.game = _UsiGame(self.game)
        self.state = self.game.init(1)
        self._byoyomi = 0

    def emit(self, line: str) -> None:
        if line == "bestmove (none)":
            line = "bestmove resign"
        elif line.startswith("info string no network"):
            line = "info string no network: alpha-beta search on material (envs.shogi heuristic)"
        super().emit(line)

    def handle(self, line: str) -> bool:
        """Answer one input line; False after `quit`."""
        tokens = line.split()
        cmd = tokens[0] if tokens else ""
        if cmd in ("ponderhit", "gameover"):
            self._finish_search()
        elif cmd == "setoption" and len(tokens) > 2 and tokens[2] in _IGNORED_OPTIONS:
            pass
        elif cmd in ("uci", "ucinewgame"):
            self.error(f"unknown command {cmd!r} (this engine speaks USI)")
        else:
            return super().handle(line)
        return True

    def _parse_go(self, tokens: list[str]) -> GoLimits:
        limits, self._byoyomi, _ = parse_usi_go(tokens)
        return limits

    def _budget_ms(self, limits: GoLimits) -> float | None:
        """Milliseconds to think: the clock share (agents.uci) plus 0.9 of the byoyomi; None for no limit."""
        if limits.infinite:
            return None
        base = super()._budget_ms(limits)
        has_clock = (limits.wtime if int(self.state.player[0]) == 0 else limits.btime) is not None
        if self._byoyomi:
            share = base if has_clock and base is not None else 0.0
            return max(5.0, share + 0.9 * self._byoyomi - 30)
        return base


def main(argv: list[str] | None = None) -> int:
    """Run `gamelab usi shogi` (or minishogi). Returns the exit code."""
    return uci.engine_main(UsiEngine, __doc__, "shogi or minishogi (the games with USI)", argv)


if __name__ == "__main__":
    sys.exit(main())
