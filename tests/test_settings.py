import re
import tomllib
from pathlib import Path

import pytest

from newsrag.errors import ConfigError
from newsrag.settings import Settings, load_settings
from tests.conftest import REPO

CONFIG = REPO / "config.toml"


def _leaf_keys(data: dict, prefix: str = "") -> set[str]:
    keys = set()
    for key, value in data.items():
        if isinstance(value, dict):
            keys |= _leaf_keys(value, f"{prefix}{key}.")
        else:
            keys.add(prefix + key)
    return keys


def _model_keys(model: type, prefix: str = "") -> set[str]:
    keys = set()
    for name, field in model.model_fields.items():
        if name == "config_path":
            continue
        annotation = field.annotation
        if isinstance(annotation, type) and hasattr(annotation, "model_fields"):
            keys |= _model_keys(annotation, f"{prefix}{name}.")
        else:
            keys.add(prefix + name)
    return keys


def test_config_file_lists_every_setting_with_its_default() -> None:
    data = tomllib.loads(CONFIG.read_text())
    assert _leaf_keys(data) == _model_keys(Settings)
    from_file = load_settings(CONFIG, env={}).model_dump()
    assert from_file == Settings().model_dump()


def test_every_key_in_config_file_is_documented_by_a_comment() -> None:
    lines = CONFIG.read_text().splitlines()
    for number, line in enumerate(lines):
        if re.match(r"^[a-z_]+ = ", line):
            assert lines[number - 1].startswith("#"), f"undocumented key on line {number + 1}"


def test_env_overrides_nested_keys_and_data_dir(tmp_path: Path) -> None:
    env = {"NEWSRAG_RETRIEVAL__K": "9", "NEWSRAG_DATA_DIR": str(tmp_path / "d"),
           "NEWSRAG_INGEST__JSON_FIELDS__TEXT": '["body"]', "NEWSRAG_DEBUG": "1"}
    settings = load_settings(CONFIG, env=env)
    assert settings.retrieval.k == 9
    assert settings.ingest.json_fields.text == ["body"]
    assert settings.resolved_data_dir() == tmp_path / "d"


def test_default_data_dir_is_next_to_the_config(tmp_path: Path) -> None:
    config = tmp_path / "conf" / "config.toml"
    config.parent.mkdir()
    config.write_text('[retrieval]\nk = 3\n')
    assert load_settings(config, env={}).resolved_data_dir() == config.parent / ".newsrag"
    config.write_text('data_dir = "store"\n')
    assert load_settings(config, env={}).resolved_data_dir() == config.parent / "store"


def test_config_can_come_from_env_variable(tmp_path: Path) -> None:
    config = tmp_path / "other.toml"
    config.write_text("[retrieval]\nk = 11\n")
    assert load_settings(env={"NEWSRAG_CONFIG": str(config)}).retrieval.k == 11


@pytest.mark.parametrize(
    ("text", "env", "message"),
    [
        ("[retrieval]\nkk = 3\n", {}, "unknown key 'retrieval.kk'"),
        ("[retrival]\nk = 3\n", {}, "unknown key 'retrival'"),
        ("[retrieval]\nk = 'many'\n", {}, "bad value for 'retrieval.k'"),
        ("[chunking]\nchunk_tokens = 4\n", {}, "bad value for 'chunking.chunk_tokens'"),
        ("", {"NEWSRAG_STORE__NOPE": "1"}, "unknown key 'store.nope'"),
        ("", {"NEWSRAG_RETRIEVAL__K": "x"}, "bad value for 'retrieval.k'"),
        ("[retrieval\n", {}, "cannot read"),
    ],
)
def test_bad_configuration_is_an_error_naming_the_key(
    tmp_path: Path, text: str, env: dict[str, str], message: str
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(text)
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_settings(config, env=env)


def test_missing_config_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_settings(tmp_path / "nope.toml", env={})
