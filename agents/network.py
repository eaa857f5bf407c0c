"""PolicyValueNet: the AlphaZero policy-value network built from the core blocks.

A residual trunk (He et al. 2016; Silver et al. 2017) with a policy head (logits over the game's actions) and a
value head (tanh, the expected outcome for the player to move). With `global_pool`, every third residual block
(at least one) carries KataGo's global pooling bias.

Optional auxiliary heads (KataGo; Wu 2019), trained but not used by search: ownership (tanh per board cell, the
final owner from the view of the player to move), score (the mean final score, divided by the number of board
cells; a mean, not a distribution) and the opponent's reply (logits of the policy at the next position). A net
without them has the same weights and config as before they existed; `forward(planes, aux=True)` returns them.

Dimension letters: B batch, C/H/W input planes, A actions, F trunk channels.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

import envs
from core.blocks import ConvNormAct, ResidualBlock, init_weights
from core.checkpoint import CheckpointError, latest_checkpoint, load_checkpoint
from envs import traits

__all__ = ["PolicyValueNet", "PRESETS", "load_policy_value_net", "checkpoint_path", "check_same_game"]

# name -> constructor kwargs; b<blocks>c<channels>
PRESETS: dict[str, dict[str, int]] = {
    "b2c16": {"blocks": 2, "channels": 16},
    "b4c32": {"blocks": 4, "channels": 32},
    "b6c64": {"blocks": 6, "channels": 64},
    "b10c128": {"blocks": 10, "channels": 128},
}


class PolicyValueNet(nn.Module):
    """Residual policy-value network.

    Args:
        planes_shape: (C, H, W) of the game's input planes.
        num_actions: A.
        blocks: residual blocks in the trunk.
        channels: F, trunk width.
        global_pool: put a global pooling bias in every third block (KataGo).
        norm: normalization of every conv ("batch", "group", "instance", "none").
        ownership_head, score_head, reply_head: build these auxiliary heads (module docstring).
    """

    def __init__(
        self,
        planes_shape: tuple[int, int, int],
        num_actions: int,
        blocks: int = 6,
        channels: int = 64,
        global_pool: bool = False,
        norm: str = "batch",
        ownership_head: bool = False,
        score_head: bool = False,
        reply_head: bool = False,
    ):
        super().__init__()
        c, h, w = (int(x) for x in planes_shape)
        self.config: dict[str, Any] = {
            "planes_shape": [c, h, w],
            "num_actions": int(num_actions),
            "blocks": int(blocks),
            "channels": int(channels),
            "global_pool": bool(global_pool),
            "norm": str(norm),
        }
        heads = {"ownership_head": ownership_head, "score_head": score_head, "reply_head": reply_head}
        self.config.update({k: True for k, on in heads.items() if on})  # absent keys: the config of older nets
        pool_at = ({i for i in range(blocks) if i % 3 == 2} or {blocks - 1}) if global_pool else set()
        self.stem = ConvNormAct(c, channels, norm=norm)
        self.trunk = nn.Sequential(
            *(ResidualBlock(channels, norm=norm, global_pool=i in pool_at) for i in range(blocks))
        )
        self.policy_conv = ConvNormAct(channels, 2, kernel=1, norm=norm)
        self.policy_fc = nn.Linear(2 * h * w, num_actions)
        self.value_conv = ConvNormAct(channels, 1, kernel=1, norm=norm)
        self.value_fc = nn.Sequential(nn.Linear(h * w, channels), nn.ReLU(inplace=True), nn.Linear(channels, 1))
        self.ownership_conv = nn.Conv2d(channels, 1, 1) if ownership_head else None
        self.score_fc = (
            nn.Sequential(nn.Linear(h * w, channels), nn.ReLU(inplace=True), nn.Linear(channels, 1))
            if score_head
            else None
        )
        if reply_head:
            self.reply_conv = ConvNormAct(channels, 2, kernel=1, norm=norm)
            self.reply_fc = nn.Linear(2 * h * w, num_actions)
        else:
            self.reply_conv = self.reply_fc = None
        init_weights(self, "he")
        # small final layers: a fresh net starts near a uniform policy and a zero value
        for layer in (self.policy_fc, self.value_fc[-1]):
            nn.init.normal_(layer.weight, 0.0, 0.01)
        for layer in (self.ownership_conv, self.score_fc[-1] if score_head else None, self.reply_fc):
            if layer is not None:
                nn.init.normal_(layer.weight, 0.0, 0.01)

    @property
    def aux_heads(self) -> tuple[str, ...]:
        """Names of the auxiliary heads this net has ("ownership", "score", "reply")."""
        heads = (("ownership", self.ownership_conv), ("score", self.score_fc), ("reply", self.reply_fc))
        return tuple(name for name, module in heads if module is not None)

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> PolicyValueNet:
        """Rebuild a net from its `config` dict."""
        kw = dict(config)
        kw["planes_shape"] = tuple(kw["planes_shape"])
        return cls(**kw)

    def forward(self, planes: Tensor, aux: bool = False) -> tuple[Tensor, Tensor] | dict[str, Tensor]:
        """Args: planes [B, C, H, W].

        Returns:
            (logits [B, A], value [B] in [-1, 1]); with `aux`, a dict of those ("logits", "value") and of the
            auxiliary heads the net has: "ownership" [B, H*W] (pre-tanh), "score" [B] (score / H*W), "reply" [B, A].
        """
        x = self.trunk(self.stem(planes))  # [B, F, H, W]
        logits = self.policy_fc(self.policy_conv(x).flatten(1))
        v = self.value_conv(x).flatten(1)  # [B, H*W]
        value = torch.tanh(self.value_fc(v)).squeeze(1)
        if not aux:
            return logits, value
        out = {"logits": logits, "value": value}
        if self.ownership_conv is not None:
            out["ownership"] = self.ownership_conv(x).flatten(1)
        if self.score_fc is not None:
            out["score"] = self.score_fc(v).squeeze(1)
        if self.reply_fc is not None:
            out["reply"] = self.reply_fc(self.reply_conv(x).flatten(1))
        return out


def checkpoint_path(source: str | Path, iteration: int | None = None) -> Path:
    """The checkpoint file `source` names: the file itself, or in a run directory (or its checkpoints/ folder) the
    latest checkpoint, or iteration N's.

    Raises:
        CheckpointError: no such file or folder, or no checkpoint in the folder (the message names it).
    """
    source = Path(source)
    if not source.is_dir():
        if not source.is_file():
            raise CheckpointError(f"{source}: no such checkpoint file or run directory")
        return source
    folder = source / "checkpoints" if (source / "checkpoints").is_dir() else source
    ckpt = folder / f"iter_{iteration:06d}.pt" if iteration is not None else latest_checkpoint(folder, "*.pt")
    if ckpt is None or not ckpt.is_file():
        raise CheckpointError(f"{folder}: no checkpoint {ckpt.name if ckpt else 'found'}")
    return ckpt


def check_same_game(path: str | Path, net_game: Any, game: Any) -> None:
    """Refuse a network trained on another game or board than `game` (options that change only the input planes,
    `envs.traits.input_options`, may differ: the net reads its planes from `net_game`; so may those that change only
    the scoring of a finished game, `envs.traits.scoring_options`, such as Go's komi: played, and said once on
    stderr, since the net's values were learnt under its own).

    Raises:
        ValueError: naming the checkpoint, the game and options it holds and those asked for.
    """
    inputs = {k for g in (net_game, game) for k in (*traits.input_options(g), *traits.scoring_options(g))}
    rules = [{k: v for k, v in dict(g.options).items() if k not in inputs} for g in (net_game, game)]
    if net_game.name != game.name or rules[0] != rules[1]:
        raise ValueError(
            f"{path} holds a model for {_describe(net_game)}, not {_describe(game)}"
            + (" (choose its board with --option KEY=VALUE)" if net_game.name == game.name else "")
        )
    scoring = [k for k in traits.scoring_options(game) if net_game.options.get(k) != game.options.get(k)]
    if scoring:
        shown = ", ".join(f"{k}={game.options.get(k)} (trained with {net_game.options.get(k)})" for k in scoring)
        print(f"note: {path} plays {shown}: its values were learnt under its own", file=sys.stderr, flush=True)


def _describe(game: Any) -> str:
    options = " ".join(f"{k}={v}" for k, v in dict(game.options).items())
    return f"{game.name} {options}" if options else game.name


def load_policy_value_net(path: Any, device: str | torch.device = "cpu") -> tuple[PolicyValueNet, Any]:
    """Load the net and its game from an "alphazero" checkpoint (a file, or a run directory: its latest one).

    The payload holds "game": {"name", "options"}, "net_config" and "model" (a state dict, EMA or latest weights).

    Returns:
        (net in eval mode on `device`, game).
    Raises:
        core.checkpoint.CheckpointError: missing, damaged or wrong-kind file, or a payload without those keys.
    """
    path = checkpoint_path(path)
    payload = load_checkpoint(path, kind="alphazero", map_location="cpu")
    missing = [k for k in ("game", "net_config", "model") if k not in payload]
    if missing:
        raise CheckpointError(f"{path}: alphazero checkpoint lacks {', '.join(missing)}")
    game = envs.get_game(payload["game"]["name"], **dict(payload["game"].get("options", {})))
    net = PolicyValueNet.from_config(payload["net_config"])
    net.load_state_dict(payload["model"])
    return net.to(device).eval(), game
