"""Test-wide settings: one torch thread per process, headless pygame, no progress bars; `cuda` tests need CUDA,
`gnugo` tests need GNU Go."""

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
os.environ.setdefault("GAMELAB_PROGRESS", "0")
os.environ.setdefault("MPLBACKEND", "Agg")

import pytest  # noqa: E402
import torch  # noqa: E402

torch.set_num_threads(1)

import agents.players  # noqa: E402
from agents.external_engine import find_engine  # noqa: E402
from agents.network import PolicyValueNet  # noqa: E402
from core.checkpoint import save_checkpoint  # noqa: E402


@pytest.fixture
def model_dir(tmp_path, monkeypatch):
    """An empty bundled-model folder in place of agents/models; `model_dir.add(game)` bundles a tiny random net
    for the game and board (named as `agents.players.bundled_model_path` names it) and returns its path."""
    folder = tmp_path / "models"
    folder.mkdir()
    monkeypatch.setattr(agents.players, "MODEL_DIR", folder)

    class _Bundle:
        path = folder

        @staticmethod
        def add(game):
            torch.manual_seed(0)
            net = PolicyValueNet(tuple(game.planes_shape), game.num_actions, blocks=1, channels=8)
            payload = {"game": {"name": game.name, "options": dict(game.options)}, "net_config": dict(net.config)}
            payload["model"] = net.state_dict()
            return save_checkpoint(agents.players.bundled_model_path(game), payload, kind="alphazero")

    return _Bundle()


def _have_gnugo() -> bool:
    try:
        find_engine("gnugo")
    except ValueError:
        return False
    return True


def pytest_collection_modifyitems(config, items):
    """Tests marked `cuda` are skipped on a machine without a CUDA device, tests marked `gnugo` without GNU Go."""
    missing = {}
    if not torch.cuda.is_available():
        missing["cuda"] = pytest.mark.skip(reason="needs CUDA")
    if any(item.get_closest_marker("gnugo") for item in items) and not _have_gnugo():
        missing["gnugo"] = pytest.mark.skip(reason="GNU Go is not installed (apt-get install gnugo)")
    for item in items:
        for name, skip in missing.items():
            if item.get_closest_marker(name) is not None:
                item.add_marker(skip)
