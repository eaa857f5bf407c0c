"""Players from short text specs, parsed here and nowhere else: for the arena, the viewer, evaluation and training.

    make_player("alphabeta:4", game)            # alpha-beta to depth 4 with the game's heuristic
    make_player("az:runs/x/checkpoints/iter_000010.pt:400", game)   # AlphaZero net + PUCT, 400 simulations

Specs:
    random                  uniformly random legal moves
    rollout[:N]             MCTS, N simulations (default 200), uniform prior, one random playout per leaf
    mcts[:N]                MCTS, N simulations (default 200), uniform prior, value 0 (only finished games count)
    alphabeta[:K]           alpha-beta to depth K (default 4) with a simple heuristic (agents.alphabeta)
    uci:CMD[:name=value]    an external UCI chess engine, e.g. uci:stockfish:Skill Level=0 (agents.uci_player);
                            Gardner minichess with Fairy-Stockfish, e.g. uci:fairy-stockfish:Skill Level=-20
    usi:CMD[:name=value]    an external USI shogi engine (agents.usi_player), e.g.
                            usi:fairy-stockfish:UCI_Variant=minishogi:Skill Level=0
    az:PATH[:SIMS]          an AlphaZero checkpoint with PUCT search, SIMS simulations (default 200), temperature 0
    PATH.pt                 the same as az:PATH
    bundled[:SIMS]          the model shipped for the game and board: agents/models/<name>_<size>.pt for games
                            with a board size option (othello_6.pt, go_7.pt), else agents/models/<name>.pt
    gtp:COMMAND             a GTP engine (Go only), e.g. gtp:gnugo --mode gtp --level 1 (agents.gtp_player)
    solver                  Connect Four only: perfect play by the exact solver (agents.connect4_solver); positions
                            with few stones take long (minutes for the first moves of a game)

Every player keeps the `agents.player.Player` contract; searching ones (rollout, mcts, az, bundled) take the
caller's `SearchSettings` (a spec's number sets the budget) and also think in steps (`ThinkingPlayer`).
Dimension letters: B games, A actions.
"""

from __future__ import annotations

from pathlib import Path

from agents.alphabeta import AlphaBetaPlayer
from agents.connect4_solver import SolverPlayer
from agents.gtp_player import gtp_player
from agents.mcts import PLAY_SIMULATIONS, SearchSettings
from agents.network import check_same_game, checkpoint_path, load_policy_value_net
from agents.player import Player, RandomPlayer
from agents.search_player import SearchPlayer, mcts_player, network_player, rollout_player
from agents.uci_player import uci_player
from core.hashing import file_hash
from envs.base import Game
from envs.connect_four import ConnectFour

__all__ = [
    "make_player",
    "MissingModelError",
    "MODEL_DIR",
    "bundled_model_path",
    "bundled_sizes",
    "find_bundled_model",
    "DEFAULT_SIMULATIONS",
    "DEFAULT_DEPTH",
]

MODEL_DIR = Path(__file__).parent / "models"
DEFAULT_SIMULATIONS = PLAY_SIMULATIONS  # the one default of play (agents.mcts)
DEFAULT_DEPTH = 4
_SPECS = (
    "random, rollout[:N], mcts[:N], alphabeta[:K], az:PATH[:SIMS], PATH.pt, bundled[:SIMS], gtp:COMMAND, uci:CMD, "
    "usi:CMD, solver"
)


class MissingModelError(FileNotFoundError, ValueError):
    """A checkpoint or bundled model file that does not exist (caught as FileNotFoundError or as ValueError)."""


def bundled_model_path(game: Game) -> Path:
    """Where the model shipped for `game` would live: agents/models/<name>_<size>.pt for a game with a board size
    option (the size it is built with, default or not), else agents/models/<name>.pt."""
    size = game.options.get("size")
    return MODEL_DIR / (f"{game.name}_{size}.pt" if size is not None else f"{game.name}.pt")


def bundled_sizes(name: str) -> list[int]:
    """The board sizes of the models shipped for game `name` (agents/models/<name>_<size>.pt), ascending."""
    sizes = []
    for path in MODEL_DIR.glob(f"{name}_*.pt"):
        tail = path.stem[len(name) + 1 :]
        if tail.isdigit():
            sizes.append(int(tail))
    return sorted(sizes)


def find_bundled_model(game: Game) -> Path:
    """The bundled model that fits `game` (its name and board size): the one place that picks a bundled model.

    Raises:
        MissingModelError: none fits; the message names the file looked for and the sizes that are bundled.
    """
    path = bundled_model_path(game)
    if path.is_file():
        return path
    size = game.options.get("size")
    if size is None:
        raise MissingModelError(f"no bundled model for {game.name}: {path} does not exist")
    sizes = bundled_sizes(game.name)
    there = (
        f"bundled {game.name} models: " + ", ".join(f"size={n}" for n in sizes) + " (choose one with --option size=N)"
        if sizes
        else f"no {game.name} model is bundled for any size"
    )
    raise MissingModelError(f"no bundled model for {game.name} size={size}: {path} does not exist; {there}")


def _count(spec: str, text: str | None, default: int, what: str) -> int:
    if text is None or text == "":
        return default
    try:
        n = int(text)
    except ValueError:
        raise ValueError(f"bad player spec {spec!r}: {what} must be a positive integer, got {text!r}") from None
    if n < 1:
        raise ValueError(f"bad player spec {spec!r}: {what} must be a positive integer, got {n}")
    return n


def checkpoint_file(path: Path) -> Path:
    """The checkpoint `path` names: the file itself, or a run directory's latest checkpoint.

    Raises:
        MissingModelError: nothing at `path` (the message names it).
    """
    if not path.exists():
        raise MissingModelError(f"checkpoint not found: {path}")
    return checkpoint_path(path)


def _az_player(path: Path, settings: SearchSettings, game: Game, device: str, label: str | None = None) -> SearchPlayer:
    path = checkpoint_file(path)
    net, net_game = load_policy_value_net(path, device=device)
    check_same_game(path, net_game, game)
    digest = file_hash(path)
    name = f"{label or 'az'}:{digest}:{settings.num_simulations}"
    planes_game = net_game if dict(net_game.options) != dict(game.options) else None  # input options differ
    return network_player(net, settings, device=device, name=name, checkpoint=digest, extra={"path": str(path)},
                          planes_game=planes_game)  # fmt: skip


def make_player(
    spec: str, game: Game, *, device: str = "cpu", seed: int = 0, settings: SearchSettings | None = None
) -> Player:
    """Build a player from a spec (see the module docstring).

    Args:
        spec: e.g. "random", "rollout:200", "alphabeta:4", "mcts:100", "az:PATH:400", "PATH.pt", "bundled:800".
        game: the game the player will play.
        device: where a network runs ("cpu", "cuda", ...); searches run on the device of the states given.
        seed: seeds the player's randomness (random moves, rollouts, tie-breaking).
        settings: the search settings of searching players (default `SearchSettings()`); a spec's N sets the
            simulation budget, and root noise is left out.
    Returns:
        a player callable with `.name` (and `.info`, `.think` for searching players).
    Raises:
        ValueError: an unknown or malformed spec, or a checkpoint for another game.
        MissingModelError (a FileNotFoundError and a ValueError): a checkpoint or bundled model that does not
            exist (the message names the path).
    """
    if not isinstance(spec, str) or not spec.strip():
        raise ValueError(f"empty player spec; expected one of: {_SPECS}")
    spec = spec.strip()
    base = settings or SearchSettings()

    def sims(n: int) -> SearchSettings:
        return base.replace(num_simulations=n)

    kind, _, arg = spec.partition(":")
    if kind == "random" and not arg:
        return RandomPlayer(seed)
    if kind == "gtp":
        return gtp_player(arg, game)
    if kind == "rollout":
        n = _count(spec, arg, DEFAULT_SIMULATIONS, "the simulation count")
        return rollout_player(game, n, settings=base, seed=seed)
    if kind == "mcts":
        return mcts_player(game, _count(spec, arg, DEFAULT_SIMULATIONS, "the simulation count"), settings=base)
    if kind == "alphabeta":
        return AlphaBetaPlayer(_count(spec, arg, DEFAULT_DEPTH, "the depth"), seed=seed)
    if kind == "uci":
        return uci_player(arg, game)
    if kind == "usi":
        from agents.usi_player import usi_player

        return usi_player(arg, game)
    if kind == "solver":
        if arg:
            raise ValueError(f"bad player spec {spec!r}: the solver takes no argument")
        if not isinstance(game, ConnectFour):
            raise ValueError(f"the solver player plays connect four only, not {game.name}")
        return SolverPlayer(seed)
    if kind == "bundled":
        n = _count(spec, arg, DEFAULT_SIMULATIONS, "the simulation count")
        return _az_player(find_bundled_model(game), sims(n), game, device, label="bundled")
    if kind == "az":
        if not arg:
            raise ValueError(f"bad player spec {spec!r}: expected az:PATH[:SIMS]")
        path_text, n = arg, DEFAULT_SIMULATIONS
        head, sep, tail = arg.rpartition(":")
        if sep and tail.isdigit():
            path_text, n = head, _count(spec, tail, DEFAULT_SIMULATIONS, "the simulation count")
        return _az_player(Path(path_text), sims(n), game, device)
    if spec.endswith(".pt") or Path(spec).suffix == ".pt":
        return _az_player(Path(spec), sims(DEFAULT_SIMULATIONS), game, device)
    head, sep, tail = spec.rpartition(":")
    if sep and tail.isdigit() and head.endswith(".pt"):
        n = _count(spec, tail, DEFAULT_SIMULATIONS, "the simulation count")
        return _az_player(Path(head), sims(n), game, device)
    raise ValueError(f"unknown player spec {spec!r}; expected one of: {_SPECS}")
