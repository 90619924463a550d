"""How many calls a node is sized for, and whether its RTP port range can carry them. Pure.

Each call with an agent holds two SIP legs (the caller's and the agent's), each an RTP instance
taking two ports (RTP and RTCP). When the range runs out, PJSIP answers the next INVITE with 488
("couldn't allocate a port for RTP instance") before any channel exists: AMI reports nothing and
the caller vanishes without a trace. So the range is checked against `max_concurrent_calls` at
start, and the dialplan admits at most that many callers (``[ccserver-admission]``): the one
above is refused while it has a channel (cause 34, SIP 503) and reported (UserEvent CcsRefused).
"""

from __future__ import annotations

from ...core.errors import ConfigurationError

PORTS_PER_CALL = 4  # two legs, RTP + RTCP each


def check_rtp_capacity(rtp_port_count: int, max_concurrent_calls: int) -> None:
    """Refuse a configuration whose RTP range cannot carry `max_concurrent_calls` calls."""
    if max_concurrent_calls < 1:
        raise ConfigurationError(
            f"max_concurrent_calls {max_concurrent_calls} must be at least 1", field="max_concurrent_calls"
        )
    needed = max_concurrent_calls * PORTS_PER_CALL
    if rtp_port_count < needed:
        raise ConfigurationError(
            f"rtp_port_count {rtp_port_count} carries only {rtp_port_count // PORTS_PER_CALL} "
            f"concurrent calls ({PORTS_PER_CALL} RTP ports per call: the caller's and the agent's "
            f"legs, RTP and RTCP each), fewer than max_concurrent_calls {max_concurrent_calls}: "
            f"set rtp_port_count to at least {needed} (and open that UDP range) or lower "
            f"max_concurrent_calls",
            field="rtp_port_count",
            needed=needed,
            max_concurrent_calls=max_concurrent_calls,
        )
