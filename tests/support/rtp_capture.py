"""Listen to what a phone hears: capture the RTP sent to one UDP port on the loopback interface
(a raw AF_PACKET socket, root only) and measure its loudness over time.

Used where Asterisk's own recorder cannot tell: MixMonitor records a channel's audio before
ChanSpy's whisper and barge are mixed in, so only the packets reaching the phone show them.
"""

from __future__ import annotations

import math
import select
import socket
import struct
import threading
import time

ETH_P_ALL = 0x0003


def _alaw_to_linear(byte: int) -> int:
    byte ^= 0x55
    sign, exponent, mantissa = byte & 0x80, (byte >> 4) & 0x07, byte & 0x0F
    value = (mantissa << 4) + 8
    if exponent:
        value = (value + 0x100) << (exponent - 1)
    return value if sign else -value


def _ulaw_to_linear(byte: int) -> int:
    byte = ~byte & 0xFF
    sign, exponent, mantissa = byte & 0x80, (byte >> 4) & 0x07, byte & 0x0F
    value = (((mantissa << 3) + 0x84) << exponent) - 0x84
    return -value if sign else value


ALAW = [_alaw_to_linear(b) for b in range(256)]
ULAW = [_ulaw_to_linear(b) for b in range(256)]


class RtpCapture:
    def __init__(self, port: int) -> None:
        self.port = port
        self.packets: list[tuple[float, int, bytes]] = []  # (monotonic, payload type, payload)
        self._stop = threading.Event()
        self._sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        self._sock.bind(("lo", 0))
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> RtpCapture:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self._sock.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            ready, _, _ = select.select([self._sock], [], [], 0.2)
            if not ready:
                continue
            frame, address = self._sock.recvfrom(65535)
            if address[2] == socket.PACKET_OUTGOING:
                continue  # loopback shows every packet twice: keep the incoming copy
            if len(frame) < 14 + 20 + 8 or frame[12:14] != b"\x08\x00":
                continue
            ip = frame[14:]
            header = (ip[0] & 0x0F) * 4
            if ip[9] != 17:  # UDP
                continue
            udp = ip[header:]
            dst_port = struct.unpack("!H", udp[2:4])[0]
            if dst_port != self.port or len(udp) < 8 + 12:
                continue
            rtp = udp[8:]
            payload_type = rtp[1] & 0x7F
            csrc = rtp[0] & 0x0F
            self.packets.append((time.monotonic(), payload_type, rtp[12 + 4 * csrc :]))

    def rms(self, start: float, end: float) -> float:
        """Loudness of the G.711 audio received between two monotonic instants."""
        total, count = 0, 0
        for at, payload_type, payload in self.packets:
            if not start <= at < end or payload_type not in (0, 8):
                continue
            table = ALAW if payload_type == 8 else ULAW
            for byte in payload:
                sample = table[byte]
                total += sample * sample
                count += 1
        return math.sqrt(total / count) if count else 0.0
