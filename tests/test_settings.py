import re
import tomllib
from pathlib import Path

import pytest

from newsrag.errors import ConfigError
from newsrag.settings import Settings, load_settings
from rag.generators import CHAT_MODELS, check_backend_tables, make_chat_model
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
    tables = {name: data["generation"].pop(name) for name in list(data["generation"])
              if isinstance(data["generation"][name], dict)}
    assert _leaf_keys(data) == _model_keys(Settings)
    from_file = load_settings(CONFIG, env={})
    check_backend_tables(from_file)
    assert from_file.model_dump(exclude={"generation"}) == Settings().model_dump(
        exclude={"generation"})
    # Every installed generator with options has its table, each option at its default.
    with_options = {name for name in CHAT_MODELS.names() if CHAT_MODELS.options(name, {})}
    assert {name.replace("-", "_") for name in with_options} == set(tables)
    for name in with_options:
        options = CHAT_MODELS.options(name, {})
        assert options is not None and tables[name.replace("-", "_")] == options.model_dump()


def test_a_backend_table_is_checked_against_the_backend_own_options(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[generation.openai]\nmodel = "m"\nbase_ur = "x"\n'
                      '[generation.llama_cpp]\ncontext_tokens = 12\n[generation.olama]\nmodel = "m"\n')
    with pytest.raises(ConfigError) as caught:  # when the services are built
        check_backend_tables(load_settings(config, env={}))
    message = str(caught.value)
    assert "unknown key 'generation.openai.base_ur'" in message
    assert "bad value for 'generation.llama_cpp.context_tokens'" in message
    assert "unknown key 'generation.olama'" in message
    env = {"NEWSRAG_GENERATION__OPENAI__MODEL": "served-model"}
    chat = make_chat_model(load_settings(CONFIG, env=env).generation, "openai")
    assert chat is not None and chat.name == "openai:served-model"


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


def test_an_environment_override_is_blamed_not_the_config_file(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text("[retrieval]\nk = 3\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(config, env={"NEWSRAG_RETRIEVAL__KK": "1", "NEWSRAG_STORE__PORT": "x"})
    message = str(caught.value)
    assert "unknown key 'retrieval.kk' (from NEWSRAG_RETRIEVAL__KK)" in message
    assert "bad value for 'store.port'" in message and "(from NEWSRAG_STORE__PORT)" in message
    assert str(config) not in message  # the file is fine
    config.write_text("[retrieval]\nkk = 3\n")
    with pytest.raises(ConfigError, match=re.escape(f"in {config}: unknown key 'retrieval.kk'")):
        load_settings(config, env={"NEWSRAG_STORE__PORT": "9"})


def test_bad_json_in_the_environment_names_the_variable_not_the_value() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(env={"NEWSRAG_UI__USERS": '["alice:hunter2"'})
    assert "NEWSRAG_UI__USERS is not valid JSON" in str(caught.value)
    assert "hunter2" not in str(caught.value)


def test_an_unreadable_config_file_is_a_config_error(tmp_path: Path) -> None:
    binary = tmp_path / "binary.toml"
    binary.write_bytes(b"\xff\xfe\x00\x01 not text")
    with pytest.raises(ConfigError, match=r"cannot read .*binary.toml"):
        load_settings(binary, env={})
    with pytest.raises(ConfigError, match="config file is a directory"):
        load_settings(tmp_path, env={})


def test_crash_test_switches_are_not_settings() -> None:
    env = {"NEWSRAG_CRASH_TRACE": "/tmp/trace", "NEWSRAG_CRASH_PAUSE": "store.add:1"}
    assert load_settings(env=env) == load_settings(env={})
