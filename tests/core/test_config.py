from dataclasses import dataclass

import pytest

from core.config import ConfigError, config_to_dict, load_toml_presets, parse_config


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
