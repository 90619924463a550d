"""Settings in sections: defaults < TOML tables < environment < command line, old flat names warned."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from ccserver.core.errors import ConfigurationError
from ccserver.settings import (
    ENV_NAMES,
    KEYS,
    SECTION_OF,
    SECTIONS,
    DeprecatedSettingWarning,
    Settings,
    WebSettings,
    env_name,
    load_settings,
)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "ccserver.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_are_grouped_in_frozen_sections():
    settings = Settings()
    assert settings.web.port == 8080 and settings.pbx.command_timeout == 5.0
    assert settings.storage.effective_database_url.startswith("sqlite:///")
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.web.port = 1  # type: ignore[misc]


def test_every_old_flat_name_has_a_place_in_a_section():
    for old, (section, key) in SECTION_OF.items():
        assert section in SECTIONS
        assert f"{section}.{key}" in KEYS or key == "effective_database_url", old
    # every key that had a flat name keeps it; keys born in a section have none
    born_in_a_section = {
        "log.levels",
        "asterisk.language",
        "asterisk.media_dir",
        "asterisk.media_dir_in_asterisk",
        "web.resync_after",
    }
    assert len([k for k in SECTION_OF if k != "effective_database_url"]) == len(KEYS) - len(born_in_a_section)


def test_toml_tables_set_their_section(tmp_path):
    path = write(tmp_path, '[web]\nport = 9090\n[pbx]\ncommand_timeout = 2.5\n[log]\nlevel = "DEBUG"\n')
    settings = load_settings(path, environ={})
    assert (settings.web.port, settings.pbx.command_timeout, settings.log.level) == (9090, 2.5, "DEBUG")


def test_old_flat_toml_keys_are_accepted_with_a_warning_naming_the_new_key(tmp_path):
    path = write(tmp_path, "http_port = 9091\n")
    with pytest.warns(DeprecatedSettingWarning, match="'http_port'.*use web.port"):
        settings = load_settings(path, environ={})
    assert settings.web.port == 9091


def test_environment_uses_section_and_key_and_still_reads_old_names(tmp_path):
    settings = load_settings(environ={"CCSERVER_WEB_PORT": "9092", "CCSERVER_STORAGE_DATA_DIR": str(tmp_path)})
    assert settings.web.port == 9092 and settings.storage.data_dir == tmp_path
    with pytest.warns(DeprecatedSettingWarning, match="CCSERVER_HTTP_PORT is deprecated: use CCSERVER_WEB_PORT"):
        assert load_settings(environ={"CCSERVER_HTTP_PORT": "9093"}).web.port == 9093
    # the new name wins over the old one
    with_both = load_settings(environ={"CCSERVER_HTTP_PORT": "1", "CCSERVER_WEB_PORT": "2"})
    assert with_both.web.port == 2


def test_layers_override_in_order(tmp_path):
    path = write(tmp_path, "[web]\nport = 1\nhost = '0.0.0.0'\n")
    settings = load_settings(path, environ={"CCSERVER_WEB_PORT": "2"}, overrides={"log.level": "DEBUG"})
    assert (settings.web.host, settings.web.port, settings.log.level) == ("0.0.0.0", 2, "DEBUG")
    assert load_settings(path, environ={"CCSERVER_WEB_PORT": "2"}, overrides={"web.port": 3}).web.port == 3


@pytest.mark.parametrize(
    ("environ", "key", "words"),
    [
        ({"CCSERVER_WEB_PORT": "eighty"}, "web.port", "must be an integer"),
        ({"CCSERVER_PBX_COMMAND_TIMEOUT": "soon"}, "pbx.command_timeout", "must be a number"),
        ({"CCSERVER_RECORDING_AGENTS_MAY_LISTEN": "perhaps"}, "recording.agents_may_listen", "true or false"),
        ({"CCSERVER_WEB_COOKIE_SECURE": "sometimes"}, "web.cookie_secure", "must be one of"),
    ],
)
def test_bad_values_are_refused_naming_the_key(environ, key, words):
    with pytest.raises(ConfigurationError) as info:
        load_settings(environ=environ)
    assert info.value.message.startswith(f"{key}: ") and words in info.value.message
    assert info.value.details["field"] == key and info.value.details["source"] == "environment"


def test_unknown_keys_and_sections_are_refused(tmp_path):
    with pytest.raises(ConfigurationError, match=r"web.colour: unknown setting"):
        load_settings(write(tmp_path, "[web]\ncolour = 'blue'\n"), environ={})
    with pytest.raises(ConfigurationError, match=r"nonsense: unknown setting"):
        load_settings(write(tmp_path, "nonsense = 1\n"), environ={})
    with pytest.raises(ConfigurationError, match=r"web: must be a table"):
        load_settings(write(tmp_path, "web = 1\n"), environ={})


def test_replace_takes_dotted_keys_or_section_mappings(tmp_path):
    settings = Settings().replace({"storage.data_dir": tmp_path}, web={"port": "8181"})
    assert settings.storage.data_dir == tmp_path and settings.web.port == 8181
    with pytest.raises(ConfigurationError, match="web.port: must be an integer"):
        settings.replace({"web.port": "x"})
    assert settings.replace({"web": {"host": "::1"}}).web.host == "::1"
    assert settings.replace(web=WebSettings(port=1)).web == WebSettings(port=1)


def test_old_flat_attribute_reads_still_work_with_a_warning():
    with pytest.warns(DeprecationWarning, match="use settings.web.port"):
        assert Settings().http_port == 8080  # type: ignore[attr-defined]
    with pytest.raises(AttributeError):
        Settings().no_such_setting  # type: ignore[attr-defined]  # noqa: B018


def test_environment_names_are_section_then_key():
    assert env_name("web.port") == "CCSERVER_WEB_PORT"
    assert ENV_NAMES["CCSERVER_ASTERISK_RTP_PORT_COUNT"] == "asterisk.rtp_port_count"
