"""A node's capacity: the RTP range is checked against max_concurrent_calls at start (an error
naming the setting), and the dialplan admits at most that many customers' calls."""

from __future__ import annotations

from pathlib import Path

import pytest

from ccserver.adapters.asterisk.capacity import PORTS_PER_CALL, check_rtp_capacity
from ccserver.adapters.asterisk.instance import AsteriskInstance
from ccserver.adapters.asterisk.root import AsteriskEnvironment
from ccserver.core.errors import ConfigurationError
from ccserver.settings import Settings


@pytest.fixture
def fake_root(tmp_path: Path) -> AsteriskEnvironment:
    root = tmp_path / "root"
    (root / "usr/lib/x86_64-linux-gnu/asterisk/modules").mkdir(parents=True)
    (root / "usr/share/asterisk").mkdir(parents=True)
    return AsteriskEnvironment("chroot", root, "/usr/sbin/asterisk", "22.10.1")


def test_the_defaults_carry_a_hundred_agents_calls_with_room_to_spare():
    settings = Settings()
    assert settings.asterisk.max_concurrent_calls >= 250
    assert settings.asterisk.rtp_port_count >= settings.asterisk.max_concurrent_calls * PORTS_PER_CALL
    check_rtp_capacity(settings.asterisk.rtp_port_count, settings.asterisk.max_concurrent_calls)


def test_a_range_too_small_for_the_capacity_is_refused_at_start_naming_the_setting(fake_root):
    # the load run: 200 ports carry 50 calls; the 51st caller got a silent SIP 488
    with pytest.raises(ConfigurationError) as info:
        AsteriskInstance(
            Settings().replace(
                {"asterisk.instance": "unit", "asterisk.rtp_port_count": 200, "asterisk.max_concurrent_calls": 100}
            ),
            environment=fake_root,
        )
    assert info.value.details["field"] == "rtp_port_count"
    assert "max_concurrent_calls 100" in info.value.message and "at least 400" in info.value.message


def test_serve_refuses_a_range_too_small_before_starting_anything(tmp_path, monkeypatch, capsys):
    from ccserver.cli import main

    for name, value in (
        ("STORAGE_DATA_DIR", str(tmp_path)),
        ("ASTERISK_RTP_PORT_COUNT", "200"),
        ("ASTERISK_MAX_CONCURRENT_CALLS", "300"),
        ("PBX_AMI_PORT", "1"),
        ("PBX_ARI_PORT", "1"),
    ):
        monkeypatch.setenv(f"CCSERVER_{name}", value)
    assert main(["serve", "--external"]) == 2
    err = capsys.readouterr().err
    assert "rtp_port_count 200 carries only 50 concurrent calls" in err and "field: rtp_port_count" in err


def test_a_capacity_below_one_call_is_refused():
    with pytest.raises(ConfigurationError) as info:
        check_rtp_capacity(2000, 0)
    assert info.value.details["field"] == "max_concurrent_calls"


def test_the_customers_trunk_goes_through_admission_at_the_configured_limit(fake_root):
    instance = AsteriskInstance(
        Settings().replace(
            {"asterisk.instance": "unit", "asterisk.rtp_port_count": 400, "asterisk.max_concurrent_calls": 100}
        ),
        environment=fake_root,
    )
    instance.render()
    etc = instance.instance_dir / "etc"
    # the trunk's calls are cleaned (ccserver-customers) then admitted, then routed
    assert "context = ccserver-customers" in (etc / "pjsip_customers.conf").read_text()
    extensions = (etc / "extensions.conf").read_text()
    assert "?ccserver-admission,${CCS_DIALLED},1)" in extensions
    assert "[ccserver-admission]" in extensions
    assert "${GROUP_COUNT(customers@ccserver-calls)} > 100]" in extensions
    assert "UserEvent(CcsRefused,Reason: capacity,Limit: 100)" in extensions
    assert "Hangup(34)" in extensions
