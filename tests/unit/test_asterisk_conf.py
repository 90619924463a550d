"""Rendering the private Asterisk's configuration, without running Asterisk."""
from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from ccserver.core.errors import ConfigurationError
from ccserver.settings import Settings
from ccserver.telephony.instance import AsteriskInstance, GENERATED_FILES
from ccserver.telephony.root import AsteriskEnvironment, parse_version, resolve_environment


@pytest.fixture
def fake_root(tmp_path: Path) -> AsteriskEnvironment:
    """A chroot environment holding just the directories rendering looks for."""
    root = tmp_path / "root"
    (root / "usr/lib/x86_64-linux-gnu/asterisk/modules").mkdir(parents=True)
    (root / "usr/share/asterisk").mkdir(parents=True)
    return AsteriskEnvironment("chroot", root, "/usr/sbin/asterisk", "22.10.1")


def make(env: AsteriskEnvironment, **changes) -> AsteriskInstance:
    settings = Settings().replace(**{"asterisk_instance": "unit", **changes})
    return AsteriskInstance(settings, environment=env)


def etc(instance: AsteriskInstance, name: str) -> str:
    return (instance.instance_dir / "etc" / name).read_text()


def test_render_writes_ports_and_secrets_into_the_config(fake_root):
    instance = make(fake_root, ami_port=15038, ari_port=15088, sip_port=15060,
                    rtp_port_start=16000, rtp_port_count=100, ami_secret="s3cret-ami",
                    ari_password="s3cret-ari", ari_username="ariuser")
    info = instance.render()
    assert instance.instance_dir == fake_root.root / "srv/ccserver/unit"
    manager = etc(instance, "manager.conf")
    assert "port = 15038" in manager and "bindaddr = 127.0.0.1" in manager
    assert re.search(r"^\[ccserver\]\nsecret = s3cret-ami$", manager, re.M)
    assert "bindport = 15088" in etc(instance, "http.conf")
    assert "[ariuser]" in etc(instance, "ari.conf") and "password = s3cret-ari" in etc(instance, "ari.conf")
    assert "bind = 127.0.0.1:15060" in etc(instance, "pjsip.conf")
    assert "endpoint_identifier_order = username,ip" in etc(instance, "pjsip.conf")
    rtp = etc(instance, "rtp.conf")
    assert "rtpstart = 16000" in rtp and "rtpend = 16099" in rtp
    asterisk_conf = etc(instance, "asterisk.conf")
    assert "astetcdir => /srv/ccserver/unit/etc" in asterisk_conf
    assert "astmoddir => /usr/lib/x86_64-linux-gnu/asterisk/modules" in asterisk_conf
    assert "runuser" not in asterisk_conf.replace("; never set runuser", "")
    assert (info.ami_port, info.ari_port, info.sip_port) == (15038, 15088, 15060)
    assert info.ari_url == "http://127.0.0.1:15088"
    assert info.recordings_dir == instance.instance_dir / "spool/monitor"


def test_manager_conf_filters_noisy_events_at_the_source(fake_root):
    instance = make(fake_root)
    instance.render()
    manager = etc(instance, "manager.conf")
    for event in ("VarSet", "Newexten", "TestEvent", "RTCPSent", "RTCPReceived"):
        assert f"eventfilter(action(exclude),name({event})) =" in manager
    read = re.search(r"^read = (.*)$", manager, re.M).group(1).split(",")
    for cls in ("call", "agent", "system", "command", "reporting", "dtmf", "originate", "user"):
        assert cls in read


def test_modules_are_listed_explicitly(fake_root):
    instance = make(fake_root)
    instance.render()
    modules = etc(instance, "modules.conf")
    assert "autoload = no" in modules
    loaded = re.findall(r"^load => (\S+)$", modules, re.M)
    assert len(loaded) >= 100
    for module in ("res_websocket_client.so", "app_queue.so", "app_mixmonitor.so", "app_chanspy.so",
                   "app_amd.so", "app_stasis.so", "res_ari.so", "chan_pjsip.so", "cdr_csv.so"):
        assert module in loaded


def test_queues_and_dialplan_include_the_generated_files(fake_root):
    instance = make(fake_root)
    instance.render()
    queues = etc(instance, "queues.conf")
    assert "autofill = yes" in queues and "#include queues_generated.conf" in queues
    assert "#include pjsip_agents.conf" in etc(instance, "pjsip.conf")
    extensions = etc(instance, "extensions.conf")
    assert "[ccserver-test]" in extensions and "exten => echo,1,Answer()" in extensions
    assert "#include dialplans/*.conf" in extensions
    assert (instance.instance_dir / "etc/dialplans/default.conf").is_file()
    assert "queue_log = yes" in etc(instance, "logger.conf")
    assert (instance.instance_dir / "moh/ccserver-tone.wav").stat().st_size > 100_000


def test_second_render_keeps_picked_ports_and_generated_secrets(fake_root):
    instance = make(fake_root)
    first = instance.render()
    assert first.ami_port and first.ari_port and first.sip_port and first.rtp_start
    assert len({first.ami_port, first.ari_port, first.sip_port, first.rtp_start}) == 4
    assert len(first.ami_secret) == 32 and first.ami_secret != first.ari_password
    second = make(fake_root).render()
    assert (second.ami_port, second.ari_port, second.sip_port, second.rtp_start) == \
        (first.ami_port, first.ari_port, first.sip_port, first.rtp_start)
    assert (second.ami_secret, second.ari_password) == (first.ami_secret, first.ari_password)
    state_file = instance.instance_dir / "instance.json"
    assert json.loads(state_file.read_text())["ami_secret"] == first.ami_secret
    assert oct(state_file.stat().st_mode & 0o777) == "0o600"


def test_two_instances_get_different_ports(fake_root):
    one = make(fake_root, asterisk_instance="one").render()
    two = make(fake_root, asterisk_instance="two").render()
    assert not {one.ami_port, one.ari_port, one.sip_port} & {two.ami_port, two.ari_port, two.sip_port}
    assert not set(range(one.rtp_start, one.rtp_end + 1)) & set(range(two.rtp_start, two.rtp_end + 1))


def test_generated_files_survive_rerendering(fake_root):
    instance = make(fake_root)
    instance.render()
    for name in GENERATED_FILES:
        assert (instance.instance_dir / "etc" / name).is_file()
    instance.write_generated("pjsip_agents.conf", "[agent1](ccserver-endpoint)\n")
    instance.render()
    assert etc(instance, "pjsip_agents.conf") == "[agent1](ccserver-endpoint)\n"


@pytest.mark.parametrize("name", ["../evil.conf", "manager.conf", "x.txt", "a/b.conf", ".hidden.conf"])
def test_write_generated_refuses_templates_and_paths(fake_root, name):
    instance = make(fake_root)
    instance.render()
    with pytest.raises(ConfigurationError):
        instance.write_generated(name, "")


@pytest.mark.parametrize("field,value", [
    ("ami_secret", "abc\r\nEvent: fake"), ("ami_secret", "line\nbreak"), ("ari_password", "tab\there"),
    ("ari_password", "nul\x00"), ("ami_secret", "semi;colon"), ("ami_secret", "del\x7f"),
    ("asterisk_instance", "bad\nname"), ("asterisk_instance", "../up"), ("asterisk_instance", ""),
    ("ami_username", "user]\n[admin"), ("ari_app", "app\r"), ("ari_username", "a b"),
])
def test_control_characters_in_secrets_and_names_are_refused(fake_root, field, value):
    with pytest.raises(ConfigurationError) as info:
        make(fake_root, **{field: value})
    assert info.value.details["field"] == field


def test_bad_sip_bind_address_is_refused(fake_root):
    with pytest.raises(ConfigurationError, match="sip_bind_address"):
        make(fake_root, sip_bind_address="localhost\n")


def test_lan_sip_address_is_used_for_sip_and_rtp_and_trusted_for_the_trunk(fake_root):
    instance = make(fake_root, sip_bind_address="127.0.0.2", sip_port=15070)
    instance.render()
    pjsip = etc(instance, "pjsip.conf")
    assert "bind = 127.0.0.2:15070" in pjsip and "media_address = 127.0.0.2" in pjsip
    customers = etc(instance, "pjsip_customers.conf")
    assert "match = 127.0.0.1" in customers and "match = 127.0.0.2" in customers


def test_template_syntax_error_names_file_and_line(fake_root, tmp_path):
    conf = tmp_path / "conf"
    import shutil
    shutil.copytree(AsteriskInstance(Settings(), environment=fake_root).conf_dir, conf)
    lines = (conf / "http.conf").read_text().splitlines()
    lines.insert(2, "{% if %}")
    (conf / "http.conf").write_text("\n".join(lines) + "\n")
    instance = AsteriskInstance(Settings().replace(asterisk_instance="unit"), conf_dir=conf,
                                environment=fake_root)
    with pytest.raises(ConfigurationError) as info:
        instance.render()
    assert info.value.details == {"file": str(conf / "http.conf"), "line": 3}
    assert "http.conf, line 3" in info.value.message


def test_undefined_template_variable_is_an_error(fake_root, tmp_path):
    conf = tmp_path / "conf"
    import shutil
    shutil.copytree(AsteriskInstance(Settings(), environment=fake_root).conf_dir, conf)
    (conf / "rtp.conf").write_text("[general]\nrtpstart = {{ rtp_begin }}\n")
    instance = AsteriskInstance(Settings().replace(asterisk_instance="unit"), conf_dir=conf,
                                environment=fake_root)
    with pytest.raises(ConfigurationError, match="rtp_begin"):
        instance.render()


def test_parse_version_reads_asterisk_dash_v():
    assert parse_version("Asterisk 22.10.1+dfsg+~cs6.17.60671434-1\n") == (22, "22.10.1+dfsg+~cs6.17.60671434-1")
    assert parse_version("Asterisk certified/20.7-cert4") == (20, "20.7-cert4")
    assert parse_version("bash: asterisk: command not found") is None


def test_missing_debootstrap_says_how_to_install_it(tmp_path, monkeypatch):
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))  # neither asterisk nor debootstrap on PATH
    with pytest.raises(ConfigurationError) as info:
        resolve_environment("auto", tmp_path / "asterisk-root")
    assert "apt-get install debootstrap" in info.value.message
    assert "root" in info.value.message
    assert not (tmp_path / "asterisk-root").exists()


def test_host_mode_without_asterisk_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ConfigurationError, match="asterisk_mode is 'host'"):
        resolve_environment("host", tmp_path / "root")


def test_unknown_mode_is_refused(tmp_path):
    with pytest.raises(ConfigurationError, match="asterisk_mode"):
        resolve_environment("docker", tmp_path / "root")


def fake_debootstrap(tmp_path: Path, body: str) -> Path:
    """A `debootstrap` on PATH that runs `body` (sh) instead of building anything."""
    bin_dir = tmp_path / "fakebin"
    bin_dir.mkdir()
    script = bin_dir / "debootstrap"
    script.write_text("#!/bin/sh\n" + body)
    script.chmod(0o755)
    return bin_dir


def test_failed_root_build_leaves_no_half_root(tmp_path, monkeypatch):
    bin_dir = fake_debootstrap(tmp_path, 'target="$4"\nmkdir -p "$target/usr"\n'
                                         'echo "I: Retrieving InRelease"\necho "E: no network" >&2\nexit 1\n')
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    cache = tmp_path / "cache"
    leftover = cache / ".asterisk-root.build-99999"  # an earlier build that was interrupted
    (leftover / "etc").mkdir(parents=True)
    with pytest.raises(ConfigurationError) as info:
        resolve_environment("chroot", cache / "asterisk-root")
    assert "debootstrap failed (exit 1)" in info.value.message
    assert "E: no network" in info.value.message  # the log's last lines
    assert not (cache / "asterisk-root").exists()
    assert not list(cache.glob(".asterisk-root.build-*"))


def test_root_dir_not_built_by_ccserver_is_not_overwritten(tmp_path, monkeypatch):
    bin_dir = fake_debootstrap(tmp_path, "exit 0\n")
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    (tmp_path / "asterisk-root" / "mine").mkdir(parents=True)
    with pytest.raises(ConfigurationError, match="not built by ccserver"):
        resolve_environment("chroot", tmp_path / "asterisk-root")
    assert (tmp_path / "asterisk-root" / "mine").is_dir()


def test_building_as_non_root_says_root_is_needed(tmp_path, monkeypatch):
    bin_dir = fake_debootstrap(tmp_path, "exit 0\n")
    monkeypatch.setenv("PATH", str(bin_dir))
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    with pytest.raises(ConfigurationError, match="needs root rights"):
        resolve_environment("auto", tmp_path / "asterisk-root")
