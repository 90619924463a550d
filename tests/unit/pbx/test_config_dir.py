import pytest

from ccserver.adapters.asterisk.config_dir import DirectoryConfigWriter
from ccserver.core.errors import ConfigurationError


def test_writes_only_generated_files_atomically(tmp_path):
    writer = DirectoryConfigWriter(tmp_path)
    path = writer.write_generated("pjsip_agents.conf", "[alice]\n")
    assert path.read_text() == "[alice]\n"
    writer.write_generated("extensions_acd.conf", "[ccserver-routes]\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["extensions_acd.conf", "pjsip_agents.conf"]
    for name in ("manager.conf", "../pjsip_agents.conf", "pjsip.conf", "extensions.conf"):
        with pytest.raises(ConfigurationError):
            writer.write_generated(name, "x")


def test_missing_directory_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigurationError) as err:
        DirectoryConfigWriter(tmp_path / "nope")
    assert err.value.details["field"] == "asterisk_generated_dir"
