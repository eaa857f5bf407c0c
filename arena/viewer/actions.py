"""The viewer's actions in one table: it drives the keys, the help overlay and the panel's buttons.

Each `Action` names its keys, how the help writes them, its button label (if it has a button), when it is
available (e.g. Resign only while playing) and what it does to the viewer. Adding a command is one row here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pygame

from envs import traits

__all__ = ["Action", "ACTIONS", "action_for_key", "available"]


def _always(viewer: Any) -> bool:
    return True


@dataclass(frozen=True)
class Action:
    """One thing a person can do in the viewer.

    Args:
        name: identifier (tests and buttons refer to it).
        help: the help overlay's description.
        keys: pygame key constant names ("K_u", "K_LEFT").
        chars: typed characters for keys whose code depends on the keyboard layout ("?", "+").
        shown: how the help and the button write the keys ("U / Left"); the button shows the first one.
        button: the button label; "" for keys without a button.
        run: what it does: run(viewer, key) with the pygame key code (0 from a button).
        when: whether it is available in the viewer's current mode; unavailable actions have no key, button or help.
        selected: whether its button is drawn as switched on.
    """

    name: str
    help: str
    keys: tuple[str, ...] = ()
    chars: tuple[str, ...] = ()
    shown: str = ""
    button: str = ""
    run: Callable[[Any, int], None] | None = None
    when: Callable[[Any], bool] = _always
    selected: Callable[[Any], bool] | None = None

    def matches(self, key: int, char: str) -> bool:
        """Whether a key press (code and typed character) triggers this action."""
        return any(key == getattr(pygame, k) for k in self.keys) or (bool(char) and char in self.chars)

    @property
    def button_key(self) -> str:
        """The key shown on the button: the first of `shown`."""
        return self.shown.split(" / ")[0]


def _playing(viewer: Any) -> bool:
    return not viewer.reviewing


def _digit(viewer: Any, key: int) -> None:
    viewer.try_move(key - pygame.K_1)


ACTIONS: tuple[Action, ...] = (
    Action("click", "play (chess: click or drag); a listed move: go there", shown="click"),
    Action(
        "continue",
        "continue from here against the agent",
        ("K_c",),
        shown="C",
        button="Continue here",
        run=lambda v, k: v.continue_here(),
        when=lambda v: v.reviewing,
    ),
    Action("new", "new game", ("K_n",), shown="N", button="New", run=lambda v, k: v.new_game()),
    Action(
        "undo",
        "undo (back to your move)",
        ("K_u", "K_LEFT", "K_BACKSPACE"),
        shown="U / Left",
        button="Undo",
        run=lambda v, k: v.undo(),
    ),
    Action("redo", "redo", ("K_r", "K_RIGHT"), shown="R / Right", button="Redo", run=lambda v, k: v.redo()),
    Action("first", "first position", ("K_HOME",), shown="Home", run=lambda v, k: v.go_to(0)),
    Action("last", "last position", ("K_END",), shown="End", run=lambda v, k: v.go_to(None)),
    Action("swap", "swap sides", ("K_s",), shown="S", button="Swap", run=lambda v, k: v.swap_sides(), when=_playing),
    Action(
        "flip",
        "turn the board round",
        ("K_f",),
        shown="F",
        button="Flip",
        run=lambda v, k: v.flip(),
        when=lambda v: v.chess is not None,
        selected=lambda v: v.chess.flipped,
    ),
    Action("resign", "resign", ("K_x",), shown="X", button="Resign", run=lambda v, k: v.resign(), when=_playing),
    Action(
        "pass",
        "pass",
        ("K_p",),
        shown="P",
        button="Pass",
        run=lambda v, k: v.try_move(v.game.pass_action),
        when=lambda v: v.game.pass_action is not None,
    ),
    Action(
        "hints",
        "hints: the agent's visits and value",
        ("K_h",),
        shown="H",
        button="Hints",
        run=lambda v, k: v.toggle_hints(),
        selected=lambda v: v.hints_on,
    ),
    Action(
        "score",
        "score: area score with komi",
        ("K_e",),
        shown="E",
        button="Score",
        run=lambda v, k: v.toggle_score(),
        when=lambda v: traits.area_score(v.game),
        selected=lambda v: v.score_on,
    ),
    Action(
        "ownership",
        "ownership: who owns each point at the end, by random playouts",
        ("K_o",),
        shown="O",
        button="Owner",
        run=lambda v, k: v.toggle_ownership(),
        when=lambda v: hasattr(v.game, "playout_ownership"),
        selected=lambda v: v.ownership_on,
    ),
    Action(
        "move_now",
        "agent: move now / watch: pause",
        ("K_m", "K_SPACE"),
        shown="M / Space",
        button="Move now",
        run=lambda v, k: v.move_now(),
        when=_playing,
    ),
    Action(
        "autoplay",
        "autoplay the recorded game",
        ("K_a", "K_SPACE"),
        shown="A / Space",
        button="Autoplay",
        run=lambda v, k: v.toggle_autoplay(),
        when=lambda v: v.reviewing,
        selected=lambda v: v.autoplay,
    ),
    Action(
        "digit",
        "play that column / cell",
        tuple(f"K_{n}" for n in range(1, 10)),
        shown="1-9",
        run=_digit,
        when=lambda v: v.game.num_actions <= 9,
    ),
    Action(
        "faster",
        "faster watching and autoplay",
        ("K_PLUS", "K_KP_PLUS"),
        chars=("+", "="),
        shown="+",
        run=lambda v, k: v.change_speed(-1),
    ),
    Action(
        "slower",
        "slower watching and autoplay",
        ("K_MINUS", "K_KP_MINUS"),
        chars=("-",),
        shown="-",
        run=lambda v, k: v.change_speed(+1),
    ),
    Action("help", "this help", ("K_F1",), chars=("?",), shown="F1 / ?", button="Help", run=lambda v, k: v.show_help()),
    Action("menu", "start screen (closes the help)", ("K_ESCAPE",), shown="Esc", run=lambda v, k: v.leave()),
)


def available(viewer: Any) -> list[Action]:
    """The actions available in the viewer's current mode, in table order."""
    return [a for a in ACTIONS if a.when(viewer)]


def action_for_key(viewer: Any, key: int, char: str) -> Action | None:
    """The available action a key press triggers, or None."""
    return next((a for a in available(viewer) if a.run is not None and a.matches(key, char)), None)
