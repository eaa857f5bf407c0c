from dataclasses import dataclass

import pytest

from core.config import ConfigError, config_from_dict, config_to_dict, field_help, load_toml_presets, parse_config


@dataclass(frozen=True)
class Job:
    lr: float = 0.1
    blocks: int = 2
    name: str = "x"
    use_ema: bool = False
    sizes: tuple[int, ...] = (1, 2)
    device: str | None = None


def test_defaults_preset_then_overrides(tmp_path):
    presets_file = tmp_path / "presets.toml"
    presets_file.write_text('[small]\nblocks = 4\nname = "s"\n')
    presets = load_toml_presets(presets_file)
    cfg = parse_config(Job, ["--lr=0.5", "--use-ema=true", "--sizes=3,4,5"], presets, "small")
    assert cfg == Job(lr=0.5, blocks=4, name="s", use_ema=True, sizes=(3, 4, 5))
    assert config_to_dict(cfg)["blocks"] == 4
    assert parse_config(Job, ["--device=none"]).device is None


@pytest.mark.parametrize(
    "overrides, message",
    [
        (["--learning_rate=1"], "unknown config key"),
        (["--blocks=two"], "blocks: expected an integer"),
        (["--use_ema=maybe"], "use_ema: expected true or false"),
        (["--lr"], "must look like --key=value"),
    ],
)
def test_bad_overrides_are_errors(overrides, message):
    with pytest.raises(ConfigError, match=message):
        parse_config(Job, overrides)


def test_unknown_preset_and_bad_toml(tmp_path):
    with pytest.raises(ConfigError, match="unknown preset 'big'"):
        parse_config(Job, [], {"small": {}}, "big")
    bad = tmp_path / "bad.toml"
    bad.write_text("[x\n")
    with pytest.raises(ConfigError, match="bad.toml: not valid TOML"):
        load_toml_presets(bad)


def test_embedded_settings_are_options_under_flat_names_and_saved_flat():
    from agents.learner import TrainConfig
    from agents.mcts import PLAY_SIMULATIONS, SearchSettings

    cfg = config_from_dict(TrainConfig, {"simulations": "12", "gumbel": "true", "c_puct": 2})
    assert cfg.search == SearchSettings(num_simulations=12, gumbel=True, c_puct=2.0, dirichlet_fraction=0.25, tactics=0)
    saved = config_to_dict(cfg)  # flat, as runs saved before the embedding stored it
    assert saved["simulations"] == 12 and "search" not in saved and "num_simulations" not in saved
    assert config_from_dict(TrainConfig, saved) == cfg
    assert config_from_dict(TrainConfig, {"search": {"num_simulations": 5}}).search.num_simulations == 5
    assert TrainConfig().search.num_simulations == 32 and SearchSettings().num_simulations == PLAY_SIMULATIONS
    for bad, named in (
        ({"simulations": 0}, "simulations"),
        ({"c_puct": "x"}, "c_puct"),
        ({"simulation": 3}, "simulation"),
    ):
        with pytest.raises(ConfigError, match=named):
            config_from_dict(TrainConfig, bad)


def test_every_job_field_has_a_type_default_and_help_from_its_comment():
    from agents.learner import TrainConfig
    from generative.style.train import StyleTrainConfig

    for cls in (TrainConfig, StyleTrainConfig):
        rows = field_help(cls)
        assert [r.name for r in rows] == list(config_to_dict(cls()))  # every option, flat, in order
        assert all(r.help for r in rows), [r.name for r in rows if not r.help]
    lr = next(r for r in field_help(TrainConfig) if r.name == "lr")
    assert (lr.type, lr.default, lr.range) == ("float", 2e-3, "> 0") and "learning rate" in lr.help
