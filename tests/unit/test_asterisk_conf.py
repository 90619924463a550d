"""Rendering the private Asterisk's configuration, without running Asterisk."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from ccserver.adapters.asterisk import instance as instance_module
from ccserver.adapters.asterisk.instance import GENERATED_FILES, AsteriskInstance, _free_gaps
from ccserver.adapters.asterisk.root import AsteriskEnvironment, parse_version, resolve_environment
from ccserver.core.errors import ConfigurationError
from ccserver.settings import SECTION_OF, Settings, env_name


@pytest.fixture
def fake_root(tmp_path: Path) -> AsteriskEnvironment:
    """A chroot environment holding just the directories rendering looks for."""
    root = tmp_path / "root"
    (root / "usr/lib/x86_64-linux-gnu/asterisk/modules").mkdir(parents=True)
    (root / "usr/share/asterisk").mkdir(parents=True)
    return AsteriskEnvironment("chroot", root, "/usr/sbin/asterisk", "22.10.1")


def make(env: AsteriskEnvironment, changes: dict | None = None, /, **sections) -> AsteriskInstance:
    settings = Settings().replace({"asterisk.instance": "unit", **(changes or {})}, **sections)
    return AsteriskInstance(settings, environment=env)


def etc(instance: AsteriskInstance, name: str) -> str:
    return (instance.instance_dir / "etc" / name).read_text()


def test_render_writes_ports_and_secrets_into_the_config(fake_root):
    instance = make(
        fake_root,
        pbx={
            "ami_port": 15038,
            "ari_port": 15088,
            "ami_secret": "s3cret-ami",
            "ari_password": "s3cret-ari",
            "ari_username": "ariuser",
        },
        asterisk={"sip_port": 15060, "rtp_port_start": 16000, "rtp_port_count": 100, "max_concurrent_calls": 25},
    )
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
    # the events ccserver translates: FullyBooted, channels/bridges, queues, the dialplans' UserEvents
    assert sorted(read) == ["agent", "call", "system", "user"]


def test_modules_are_listed_explicitly(fake_root):
    instance = make(fake_root)
    instance.render()
    modules = etc(instance, "modules.conf")
    assert "autoload = no" in modules
    loaded = re.findall(r"^load => (\S+)$", modules, re.M)
    assert len(loaded) >= 100
    for module in (
        "res_websocket_client.so",
        "app_queue.so",
        "app_mixmonitor.so",
        "app_chanspy.so",
        "app_amd.so",
        "app_stasis.so",
        "res_ari.so",
        "chan_pjsip.so",
        "cdr_csv.so",
    ):
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
    assert (second.ami_port, second.ari_port, second.sip_port, second.rtp_start) == (
        first.ami_port,
        first.ari_port,
        first.sip_port,
        first.rtp_start,
    )
    assert (second.ami_secret, second.ari_password) == (first.ami_secret, first.ari_password)
    state_file = instance.instance_dir / "instance.json"
    assert json.loads(state_file.read_text())["ami_secret"] == first.ami_secret
    assert oct(state_file.stat().st_mode & 0o777) == "0o600"


def test_two_instances_get_different_ports(fake_root):
    one = make(fake_root, asterisk={"instance": "one"}).render()
    two = make(fake_root, asterisk={"instance": "two"}).render()
    assert not {one.ami_port, one.ari_port, one.sip_port} & {two.ami_port, two.ari_port, two.sip_port}
    assert not set(range(one.rtp_start, one.rtp_end + 1)) & set(range(two.rtp_start, two.rtp_end + 1))


def _render_ports_after(env: AsteriskEnvironment, name: str, start: float, out) -> None:
    """Child process: wait for the common start, render instance `name`, send back its ports."""
    import time

    time.sleep(max(0.0, start - time.time()))
    info = make(env, asterisk={"instance": name, "rtp_port_count": 200, "max_concurrent_calls": 50}).render()
    out.put((name, info.ami_port, info.ari_port, info.sip_port, info.rtp_start, info.rtp_end))


def test_instances_rendered_at_the_same_moment_in_several_processes_get_different_ports(fake_root):
    """Eight test runs starting their Asterisk at once (what engineers sharing a machine do):
    each must see the ports the others picked. Without the siblings' lock, several read the
    same free edges before any saved its choice and booted on the same AMI/ARI/SIP ports."""
    import multiprocessing
    import time

    context = multiprocessing.get_context("fork")
    out = context.Queue()
    start = time.time() + 1.0
    children = [context.Process(target=_render_ports_after, args=(fake_root, f"p{n}", start, out)) for n in range(8)]
    for child in children:
        child.start()
    results = [out.get(timeout=30) for _ in children]
    for child in children:
        child.join(timeout=30)
        assert child.exitcode == 0
    taken: list[int] = []
    for _name, ami, ari, sip, rtp_start, rtp_end in results:
        taken += [ami, ari, sip, *range(rtp_start, rtp_end + 1)]
    assert len(taken) == len(set(taken)), "two instances picked the same port"


def test_instances_fill_the_port_space_and_the_one_too_many_is_told_what_to_change(fake_root, monkeypatch):
    """Neighbours of 2,000 RTP ports each are packed: 9 fit in the 22,767 ports below the
    ephemeral range (drawn at random, 2 to 4 fitted before), none overlaps, and the
    one too many is told which setting to change; a small range still fits after them."""
    monkeypatch.setattr(instance_module, "_udp_ports_in_use", set)  # other programs' calls aside
    count, ranges = 2000, []
    with pytest.raises(ConfigurationError) as refused:
        for n in range(20):
            info = make(fake_root, asterisk={"instance": f"n{n}", "rtp_port_count": count}).render()
            ranges.append(set(range(info.rtp_start, info.rtp_end + 1)))
    assert len(ranges) >= 9
    assert all(not a & b for i, a in enumerate(ranges) for b in ranges[i + 1 :])
    assert refused.value.details["field"] == "rtp_port_start" and "rtp_port_count" in refused.value.message
    small = make(fake_root, asterisk={"instance": "small", "rtp_port_count": 8, "max_concurrent_calls": 2}).render()
    assert small.rtp_start % 2 == 0 and not any(set(range(small.rtp_start, small.rtp_end + 1)) & r for r in ranges)


def test_free_gaps_leave_room_for_an_even_start():
    assert _free_gaps({10, 11, 30}, 0, 40, 8) == [(0, 10), (12, 30), (31, 40)]
    assert _free_gaps({10, 11, 30}, 0, 40, 9) == [(0, 10), (12, 30)]
    assert _free_gaps(set(), 0, 8, 8) == []


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


@pytest.mark.parametrize(
    "field,value",
    [
        ("ami_secret", "abc\r\nEvent: fake"),
        ("ami_secret", "line\nbreak"),
        ("ari_password", "tab\there"),
        ("ari_password", "nul\x00"),
        ("ami_secret", "semi;colon"),
        ("ami_secret", "del\x7f"),
        ("asterisk_instance", "bad\nname"),
        ("asterisk_instance", "../up"),
        ("asterisk_instance", ""),
        ("ami_username", "user]\n[admin"),
        ("ari_app", "app\r"),
        ("ari_username", "a b"),
    ],
)
def test_control_characters_in_secrets_and_names_are_refused(fake_root, field, value):
    with pytest.raises(ConfigurationError) as info:
        make(fake_root, {dotted(field): value})
    assert info.value.details["field"] == field


def test_bad_sip_bind_address_is_refused(fake_root):
    with pytest.raises(ConfigurationError, match="sip_bind_address"):
        make(fake_root, asterisk={"sip_bind_address": "localhost\n"})


def test_lan_sip_address_is_used_for_sip_and_rtp_and_trusted_for_the_trunk(fake_root):
    instance = make(fake_root, asterisk={"sip_bind_address": "127.0.0.2", "sip_port": 15070})
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
    instance = AsteriskInstance(Settings().replace({"asterisk.instance": "unit"}), conf_dir=conf, environment=fake_root)
    with pytest.raises(ConfigurationError) as info:
        instance.render()
    assert info.value.details == {"file": str(conf / "http.conf"), "line": 3}
    assert "http.conf, line 3" in info.value.message


def test_undefined_template_variable_is_an_error(fake_root, tmp_path):
    conf = tmp_path / "conf"
    import shutil

    shutil.copytree(AsteriskInstance(Settings(), environment=fake_root).conf_dir, conf)
    (conf / "rtp.conf").write_text("[general]\nrtpstart = {{ rtp_begin }}\n")
    instance = AsteriskInstance(Settings().replace({"asterisk.instance": "unit"}), conf_dir=conf, environment=fake_root)
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
    bin_dir = fake_debootstrap(
        tmp_path,
        'target="$4"\nmkdir -p "$target/usr"\necho "I: Retrieving InRelease"\necho "E: no network" >&2\nexit 1\n',
    )
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


# ---------------------------------------------------------------- render --out (docker image)
SYSTEM = {
    "pbx.ami_port": 5038,
    "pbx.ari_port": 8088,
    "asterisk.sip_port": 5060,
    "asterisk.rtp_port_start": 10000,
    "pbx.ami_secret": "ami-s3cret",
    "pbx.ari_password": "ari-s3cret",
    "asterisk.modules_dir": "/usr/lib/aarch64-linux-gnu/asterisk/modules",
}


def dotted(flat: str) -> str:
    """The dotted key of a setting the instance names by its flat name in its errors."""
    return ".".join(SECTION_OF[flat])


def system_instance(changes: dict | None = None, /, **sections) -> AsteriskInstance:
    """An instance that cannot resolve any environment: render_to must not need one."""
    settings = Settings().replace(
        {"asterisk.instance": "asterisk", "asterisk.mode": "host", **SYSTEM, **(changes or {})}, **sections
    )
    return AsteriskInstance(settings)


def out_text(out: Path, name: str) -> str:
    return (out / name).read_text()


@pytest.mark.parametrize("field", ["pbx.ami_port", "pbx.ari_port", "asterisk.sip_port", "asterisk.rtp_port_start"])
def test_render_out_refuses_a_port_left_at_0(tmp_path, field):
    with pytest.raises(ConfigurationError) as info:
        system_instance({field: 0}).render_to(tmp_path / "etc")
    assert info.value.details["field"] == field
    assert env_name(field) in info.value.message
    assert not (tmp_path / "etc").exists()


@pytest.mark.parametrize("field", ["pbx.ami_secret", "pbx.ari_password"])
def test_render_out_refuses_an_empty_secret(tmp_path, field):
    with pytest.raises(ConfigurationError) as info:
        system_instance({field: ""}).render_to(tmp_path / "etc")
    assert info.value.details["field"] == field
    assert env_name(field) in info.value.message
    assert not (tmp_path / "etc").exists()


def test_render_out_uses_the_system_directories_ports_and_secrets(tmp_path):
    out = tmp_path / "etc"
    result = system_instance().render_to(out)
    conf = out_text(out, "asterisk.conf")
    for line in (
        f"astetcdir => {out}",
        "astvarlibdir => /var/lib/asterisk",
        "astdbdir => /var/lib/asterisk",
        "astspooldir => /var/spool/asterisk",
        "astrundir => /var/run/asterisk",
        "astlogdir => /var/log/asterisk",
        "astcachedir => /var/cache/asterisk",
        "astdatadir => /usr/share/asterisk",
        "astmoddir => /usr/lib/aarch64-linux-gnu/asterisk/modules",
        "astagidir => /usr/share/asterisk/agi-bin",
        "astsbindir => /usr/sbin",
    ):
        assert line in conf
    assert "instance dir" not in conf and "runuser" not in conf.replace("; never set runuser", "")
    manager = out_text(out, "manager.conf")
    assert "port = 5038" in manager and re.search(r"^\[ccserver\]\nsecret = ami-s3cret$", manager, re.M)
    assert "bindport = 8088" in out_text(out, "http.conf")
    assert "password = ari-s3cret" in out_text(out, "ari.conf")
    assert "bind = 127.0.0.1:5060" in out_text(out, "pjsip.conf")
    assert "rtpstart = 10000" in out_text(out, "rtp.conf") and "rtpend = 11999" in out_text(out, "rtp.conf")
    assert f"directory = {out}/moh" in out_text(out, "musiconhold.conf")
    assert (out / "moh/ccserver-tone.wav").stat().st_size > 100_000
    assert (out / "dialplans/default.conf").is_file()
    assert "#include dialplans/*.conf" in out_text(out, "extensions.conf")
    assert sorted(p.name for p in out.iterdir() if p.is_file()) == sorted(result.rendered + result.created)
    assert not list(tmp_path.rglob("instance.json"))  # nothing of a private instance
    assert sorted(p.name for p in tmp_path.iterdir()) == ["etc"]


def test_render_out_keeps_generated_files_and_rewrites_templates(tmp_path):
    out = tmp_path / "etc"
    out.mkdir()
    (out / "pjsip_agents.conf").write_text("[agent7](ccserver-endpoint)\n")  # written by ccserver
    (out / "manager.conf").write_text("; an old render\n")
    (out / "dialplans").mkdir()
    (out / "dialplans/removed.conf").write_text("; no longer in the repository\n")
    result = system_instance().render_to(out)
    assert out_text(out, "pjsip_agents.conf") == "[agent7](ccserver-endpoint)\n"
    assert result.kept == ["pjsip_agents.conf"]
    # and the HTTPS server's self-signed certificate (the browser phones' WSS), made once
    assert set(result.created) == set(GENERATED_FILES) - {"pjsip_agents.conf"} | {
        "ccserver-wss.crt",
        "ccserver-wss.key",
    }
    for name, initial in GENERATED_FILES.items():
        if name != "pjsip_agents.conf":
            assert out_text(out, name) == initial
    assert "port = 5038" in out_text(out, "manager.conf")
    assert not (out / "dialplans/removed.conf").exists()
    # a second start (container restart) keeps what ccserver wrote meanwhile
    (out / "queues_generated.conf").write_text("[support]\nstrategy = rrmemory\n")
    again = system_instance().render_to(out)
    assert sorted(again.kept) == sorted(GENERATED_FILES) and again.created == []
    assert out_text(out, "queues_generated.conf") == "[support]\nstrategy = rrmemory\n"


def test_render_out_listens_on_the_network_and_permits_it(tmp_path):
    out = tmp_path / "etc"
    system_instance(
        asterisk={
            "ami_bind_address": "0.0.0.0",
            "ari_bind_address": "0.0.0.0",
            "ami_permit": "172.28.58.0/24, 10.1.0.0/255.255.0.0",
            "sip_bind_address": "0.0.0.0",
        }
    ).render_to(out)
    manager = out_text(out, "manager.conf")
    assert "bindaddr = 0.0.0.0" in manager
    assert re.search(
        r"^deny = 0\.0\.0\.0/0\.0\.0\.0\npermit = 172\.28\.58\.0/24\n"
        r"permit = 10\.1\.0\.0/255\.255\.0\.0\nread = ",
        manager,
        re.M,
    )
    http = out_text(out, "http.conf")
    assert "bindaddr = 0.0.0.0" in http and "loopback only" not in http
    pjsip = out_text(out, "pjsip.conf")
    assert "bind = 0.0.0.0:5060" in pjsip
    # on a wildcard bind Asterisk advertises the interface address (0.0.0.0 in SDP means nowhere)
    assert "media_address" not in pjsip and "bind_rtp_to_media_address" not in pjsip


def test_nat_addresses_are_rendered_only_when_set(tmp_path, fake_root):
    out = tmp_path / "etc"
    system_instance(
        asterisk={
            "sip_bind_address": "0.0.0.0",
            "sip_external_signaling_address": "pbx.example.com",
            "sip_external_media_address": "203.0.113.7",
            "sip_local_net": "172.28.58.0/24,192.168.1.0/24",
        }
    ).render_to(out)
    pjsip = out_text(out, "pjsip.conf")
    assert re.search(
        r"^bind = 0\.0\.0\.0:5060\nexternal_signaling_address = pbx\.example\.com\n"
        r"external_media_address = 203\.0\.113\.7\nlocal_net = 172\.28\.58\.0/24\n"
        r"local_net = 192\.168\.1\.0/24\n\n",
        pjsip,
        re.M,
    )
    instance = make(fake_root)  # the private instance: none of it
    instance.render()
    private = etc(instance, "pjsip.conf")
    assert "external_" not in private and "local_net" not in private
    assert "bindaddr = 127.0.0.1" in etc(instance, "manager.conf")
    assert "\npermit = 127.0.0.1/255.255.255.255\n" in etc(instance, "manager.conf")
    assert "bindaddr = 127.0.0.1" in etc(instance, "http.conf")


@pytest.mark.parametrize(
    "field,value",
    [
        ("ami_bind_address", "asterisk"),
        ("ari_bind_address", "0.0.0.0\n"),
        ("ami_permit", "172.28.0.0/33"),
        ("ami_permit", "everyone"),
        ("ami_permit", " , "),
        ("sip_local_net", "10.0.0.0/8;x"),
        ("sip_external_media_address", "1.2.3.4\nlocal_net=x"),
        ("sip_external_signaling_address", "a b"),
        ("asterisk_modules_dir", "relative/modules"),
    ],
)
def test_bad_network_settings_are_refused(field, value):
    with pytest.raises(ConfigurationError) as info:
        system_instance({dotted(field): value})
    assert info.value.details["field"] == field


def test_modules_dir_is_found_under_the_multiarch_triplet(tmp_path, monkeypatch):
    from ccserver.adapters.asterisk import instance as module

    assert module.find_modules_dir(tmp_path) is None
    (tmp_path / "usr/lib/asterisk/modules").mkdir(parents=True)
    assert module.find_modules_dir(tmp_path) == "/usr/lib/asterisk/modules"
    (tmp_path / "usr/lib/aarch64-linux-gnu/asterisk/modules").mkdir(parents=True)
    assert module.find_modules_dir(tmp_path) == "/usr/lib/aarch64-linux-gnu/asterisk/modules"
    (tmp_path / "usr/lib/x86_64-linux-gnu/asterisk/modules").mkdir(parents=True)
    monkeypatch.setattr(
        module.sysconfig, "get_config_var", lambda name: "x86_64-linux-gnu" if name == "MULTIARCH" else None
    )
    assert module.find_modules_dir(tmp_path) == "/usr/lib/x86_64-linux-gnu/asterisk/modules"


def test_render_out_without_asterisk_modules_names_the_setting(tmp_path, monkeypatch):
    from ccserver.adapters.asterisk import instance as module

    monkeypatch.setattr(module, "find_modules_dir", lambda root=Path("/"): None)
    with pytest.raises(ConfigurationError) as info:
        system_instance(asterisk={"modules_dir": ""}).render_to(tmp_path / "etc")
    assert info.value.details["field"] == "asterisk_modules_dir"
    monkeypatch.setattr(module, "find_modules_dir", lambda root=Path("/"): "/usr/lib/x86_64-linux-gnu/asterisk/modules")
    result = system_instance(asterisk={"modules_dir": ""}).render_to(tmp_path / "etc")
    assert result.modules_dir == "/usr/lib/x86_64-linux-gnu/asterisk/modules"
    assert "astmoddir => /usr/lib/x86_64-linux-gnu/asterisk/modules" in out_text(tmp_path / "etc", "asterisk.conf")


def test_render_out_command_reads_the_environment(tmp_path, monkeypatch, capsys):
    from ccserver.cli import main

    for key, value in {**SYSTEM, "asterisk.ami_bind_address": "0.0.0.0"}.items():
        monkeypatch.setenv(env_name(key), str(value))
    out = tmp_path / "etc"
    assert main(["asterisk", "render", "--out", str(out)]) == 0
    assert f"into {out}" in capsys.readouterr().out
    assert "bindaddr = 0.0.0.0" in out_text(out, "manager.conf")
    monkeypatch.setenv("CCSERVER_PBX_ARI_PASSWORD", "")
    assert main(["asterisk", "render", "--out", str(out)]) == 2
    assert "CCSERVER_PBX_ARI_PASSWORD" in capsys.readouterr().err


# ---------------------------------------------------------------- a process on its way out
@pytest.mark.parametrize("pidfd", [True, False], ids=["pidfd", "proc-polling"])
def test_process_handle_waits_for_every_thread_not_just_the_leader(tmp_path, monkeypatch, pidfd):
    """What SIGKILL leaves for a moment (longer on a loaded machine): the main thread is gone
    (/proc/PID/cmdline reads empty) while another thread still holds the process's sockets.
    The handle must not call it exited until that last thread is gone too."""
    import errno
    import socket
    import subprocess
    import sys
    import time

    from ccserver.adapters.asterisk.instance import _Process

    syscall_exit = {"x86_64": 60, "aarch64": 93}.get(os.uname().machine)
    assert syscall_exit is not None, f"add the exit(2) syscall number of {os.uname().machine} here"
    release = tmp_path / "release"
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"""
import ctypes, os, socket, sys, threading, time
sock = socket.socket()
sock.bind(("127.0.0.1", 0))
sock.listen()
def hold():
    while not os.path.exists({str(release)!r}):
        time.sleep(0.01)
threading.Thread(target=hold).start()
print(sock.getsockname()[1], flush=True)
ctypes.CDLL(None).syscall({syscall_exit}, 0)  # exit(2) of the main thread only
""",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        port = int(child.stdout.readline())
        deadline = time.monotonic() + 5
        while Path(f"/proc/{child.pid}/cmdline").read_bytes() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert Path(f"/proc/{child.pid}/cmdline").read_bytes() == b""  # looks dead...
        if not pidfd:  # a kernel or seccomp profile without pidfd_open

            def no_pidfd(pid, flags=0):
                raise OSError(errno.ENOSYS, "pidfd_open")

            monkeypatch.setattr(os, "pidfd_open", no_pidfd)
        with _Process(child.pid) as proc:
            assert not proc.wait(0.3)  # ...but is not: its socket is still bound
            with socket.socket() as probe, pytest.raises(OSError):
                probe.bind(("127.0.0.1", port))
            release.touch()
            assert proc.wait(5)
        with socket.socket() as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(("127.0.0.1", port))
        assert not Path(f"/proc/{child.pid}").exists()  # reaped
    finally:
        release.touch()
        child.stdout.close()
        try:
            child.wait(5)
        except (subprocess.TimeoutExpired, ChildProcessError):
            pass


def test_a_root_built_before_the_french_sounds_gets_them_once(tmp_path, monkeypatch):
    """A cached root whose marker lacks packages added since (the French sounds) gets them by
    apt-get in the chroot, not a new debootstrap; the marker records it, so it runs once."""
    import json

    from ccserver.adapters.asterisk import root as root_module

    calls = tmp_path / "calls.log"
    bin_dir = tmp_path / "fakebin"
    bin_dir.mkdir()
    chroot = bin_dir / "chroot"
    chroot.write_text(f'#!/bin/sh\necho "$@" >> {calls}\n')
    chroot.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    root = tmp_path / "asterisk-root"
    root.mkdir()
    (root / root_module.ROOT_MARKER).write_text(json.dumps({"packages": ["asterisk", "sip-tester"]}))

    added = root_module.ensure_root_packages(root)

    assert added == ["asterisk-core-sounds-fr-gsm", "asterisk-core-sounds-fr"]
    assert "apt-get install -y --no-install-recommends asterisk-core-sounds-fr-gsm asterisk-core-sounds-fr" in (
        calls.read_text()
    )
    assert set(root_module.ROOT_PACKAGES) <= set(root_module.root_marker(root)["packages"])
    assert root_module.ensure_root_packages(root) == []  # recorded: not again
    assert calls.read_text().count("apt-get install") == 1


def test_a_failed_package_install_names_the_log(tmp_path, monkeypatch):
    import json

    from ccserver.adapters.asterisk import root as root_module

    bin_dir = tmp_path / "fakebin"
    bin_dir.mkdir()
    chroot = bin_dir / "chroot"
    chroot.write_text('#!/bin/sh\necho "E: Unable to locate package"\nexit 100\n')
    chroot.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    root = tmp_path / "asterisk-root"
    root.mkdir()
    (root / root_module.ROOT_MARKER).write_text(json.dumps({"packages": ["asterisk", "sip-tester"]}))
    with pytest.raises(ConfigurationError, match="Unable to locate package") as info:
        root_module.ensure_root_packages(root)
    assert "asterisk-root.packages.log" in info.value.message
    assert root_module.missing_root_packages(root)  # not recorded as installed
