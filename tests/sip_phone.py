"""A real SIP phone for tests: sipp (Debian `sip-tester`) in a test's network namespace,
playing what a caller does (a code on the keypad as RFC 4733 events, then their voice as
G.711) from a pcap this module writes, and what is sent back to it, caught on the wire.

sipp replays a pcap's RTP payloads, with its timing, to the address of our SDP answer.
"""

from __future__ import annotations

import asyncio
import math
import shutil
import socket
import struct
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from media import g711, rtpraw
from media.dtmf import DIGITS, HIGH, KEYPAD, LOW

EVENT_PT, PCMA_PT, PCMU_PT = 101, 8, 0
CODECS = {PCMA_PT: "pcma/8000", PCMU_PT: "pcmu/8000"}
CALLER = "+15550100777"  # the caller's number: never to appear in a log line or a page


def require_sipp() -> str:
    path = shutil.which("sipp")
    if path is None:
        pytest.fail("sipp is not installed: run `apt-get install -y sip-tester` (CI installs it)")
    return path


def tone_samples(hz: float, seconds: float, level: int = 8000) -> list[int]:
    count = int(8000 * seconds)
    return [round(level * math.sin(2 * math.pi * hz * n / 8000)) for n in range(count)]


@dataclass
class Caller:
    """What the phone sends: RTP packets with when to send them (seconds from the start)."""

    payload_type: int = PCMA_PT
    packets: list[tuple[float, bytes]] = field(default_factory=list)
    at: float = 0.5  # the first packet, after the answer
    sequence: int = 1000
    timestamp: int = 160_000
    ssrc: int = 0x5151AAAA

    def _add(self, payload_type: int, payload: bytes, marker: int = 0, step: int = 160) -> None:
        self.sequence = (self.sequence + 1) & 0xFFFF
        header = rtpraw.FIXED.pack(0x80, (marker << 7) | payload_type, self.sequence,
                                   self.timestamp, self.ssrc)  # fmt: skip
        self.packets.append((self.at, header + payload))
        self.at += 0.020 if step else 0.0

    def keys(self, digits: str, gap: float = 0.25) -> Caller:
        """Keypad digits as RFC 4733 events: 100 ms each, the end sent three times."""
        for digit in digits:
            event = DIGITS.index(digit)
            self.timestamp = (self.timestamp + 800) & 0xFFFFFFFF  # each event its own time
            for n in range(1, 6):
                self._add(EVENT_PT, struct.pack("!BBH", event, 10, 160 * n), marker=n == 1)
            for _ in range(3):
                self._add(EVENT_PT, struct.pack("!BBH", event, 0x80 | 10, 800), step=0)
            self.at += gap
        return self

    def keypad_tones(self, digits: str) -> Caller:
        """Keypad digits as the two tones in the sound itself (no events), 100 ms each with
        100 ms of quiet between, as a phone that sends no RFC 4733 does."""
        codec = CODECS[self.payload_type]
        for digit in digits:
            row = next(r for r, keys in enumerate(KEYPAD) if digit in keys)
            low, high = LOW[row], HIGH[KEYPAD[row].index(digit)]
            pair = [
                a + b
                for a, b in zip(
                    tone_samples(low, 0.1, 5000), tone_samples(high, 0.1, 5000), strict=True
                )
            ]
            for start in range(0, len(pair), 160):
                self.timestamp = (self.timestamp + 160) & 0xFFFFFFFF
                self._add(self.payload_type, g711.encode(codec, pair[start : start + 160]))
            for _ in range(5):
                self.timestamp = (self.timestamp + 160) & 0xFFFFFFFF
                self._add(self.payload_type, g711.encode(codec, [0] * 160))
        return self

    def voice(self, seconds: float, hz: float = 1000.0) -> Caller:
        """A tone for `seconds`, as the phone's sound (G.711 of `payload_type`)."""
        samples = tone_samples(hz, seconds)
        codec = CODECS[self.payload_type]
        for start in range(0, len(samples) - 159, 160):
            self.timestamp = (self.timestamp + 160) & 0xFFFFFFFF
            self._add(self.payload_type, g711.encode(codec, samples[start : start + 160]))
        return self

    def silence(self, seconds: float) -> Caller:
        self.at += seconds
        return self

    @property
    def seconds(self) -> float:
        return self.at

    def pcap(self, path: Path) -> Path:
        """The packets as a libpcap file of Ethernet, IPv4 and UDP frames (addresses and
        ports there are placeholders: sipp sends the payloads to the answer's address)."""
        out = bytearray(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for at, payload in self.packets:
            udp = struct.pack("!HHHH", 6000, 6000, 8 + len(payload), 0) + payload
            ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0,
                             bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2])) + udp  # fmt: skip
            frame = bytes(12) + b"\x08\x00" + ip
            seconds, micros = int(at), round((at - int(at)) * 1e6)
            out += struct.pack("<IIII", 1_000_000 + seconds, micros, len(frame), len(frame))
            out += frame
        path.write_bytes(bytes(out))
        return path


REQUEST = """
  <send retrans="500">
    <![CDATA[
      INVITE sip:dial-in@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: "{caller}" <sip:{caller}@[local_ip]:[local_port]>;tag=[pid]qr[call_number]
      To: <sip:dial-in@[remote_ip]:[remote_port]>
      Call-ID: [call_id]
      CSeq: 1 INVITE
      Contact: <sip:{caller}@[local_ip]:[local_port]>
      P-Asserted-Identity: <sip:{caller}@[local_ip]>
      Max-Forwards: 70
      Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o=phone 1 1 IN IP[local_ip_type] [local_ip]
      s=-
      c=IN IP[local_ip_type] [local_ip]
      t=0 0
      {media}
    ]]>
  </send>
  <recv response="100" optional="true"/>
"""

INVITE = (
    REQUEST.replace(
        "{media}",
        """m=audio [auto_media_port] RTP/AVP {pt} 101
      a=rtpmap:{pt} {codec}/8000
      a=rtpmap:101 telephone-event/8000
      a=fmtp:101 0-15""",
    )
    + """
  <recv response="200" rtd="true"/>
  <send>
    <![CDATA[
      ACK sip:dial-in@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: "{caller}" <sip:{caller}@[local_ip]:[local_port]>;tag=[pid]qr[call_number]
      To: <sip:dial-in@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 1 ACK
      Max-Forwards: 70
      Content-Length: 0
    ]]>
  </send>
  <nop><action><exec play_pcap_audio="{pcap}"/></action></nop>
"""
)

WE_HANG_UP = """
  <pause milliseconds="{ms}"/>
  <send retrans="500">
    <![CDATA[
      BYE sip:dial-in@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: "{caller}" <sip:{caller}@[local_ip]:[local_port]>;tag=[pid]qr[call_number]
      To: <sip:dial-in@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 2 BYE
      Max-Forwards: 70
      Content-Length: 0
    ]]>
  </send>
  <recv response="200"/>
"""

THEY_HANG_UP = """
  <recv request="BYE" timeout="{ms}"/>
  <send>
    <![CDATA[
      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0
    ]]>
  </send>
"""


REFUSED = (
    REQUEST.replace("{media}", "m=audio [auto_media_port] RTP/AVP 0")
    + """
  <recv response="{status}"/>
"""
)


def scenario(path: Path, pcap: Path, ms: int, server_hangs_up: bool = False,
             payload_type: int = PCMA_PT) -> Path:  # fmt: skip
    """A sipp scenario: one call that plays `pcap`, then after `ms` hangs up (or waits as
    long for our BYE, with `server_hangs_up`)."""
    codec = "PCMA" if payload_type == PCMA_PT else "PCMU"
    body = INVITE.format(caller=CALLER, pt=payload_type, codec=codec, pcap=pcap.name)
    body += (THEY_HANG_UP if server_hangs_up else WE_HANG_UP).format(caller=CALLER, ms=ms)
    path.write_text(
        '<?xml version="1.0" encoding="ISO-8859-1" ?>\n'
        f'<scenario name="quietroom phone">{body}</scenario>\n'
    )
    return path


async def dial(netns: str, address: str, server: str, port: int, work: Path, caller: Caller,
               ms: int, server_hangs_up: bool = False) -> tuple[int, str]:  # fmt: skip
    """sipp in `netns` (at `address`) places one call to `server`:`port`: its exit code and
    its screen (0: the call went as the scenario says)."""
    pcap = caller.pcap(work / "phone.pcap")
    xml = scenario(work / "phone.xml", pcap, ms, server_hangs_up, caller.payload_type)
    return await run_sipp(netns, address, server, port, work, xml)


async def dial_refused(netns: str, address: str, server: str, port: int, work: Path,
                       status: int) -> tuple[int, str]:  # fmt: skip
    """sipp places one call that must be refused with `status` (0: it was)."""
    xml = work / "refused.xml"
    xml.write_text(
        '<?xml version="1.0" encoding="ISO-8859-1" ?>\n<scenario name="refused">'
        + REFUSED.format(caller=CALLER, status=status)
        + "</scenario>\n"
    )
    return await run_sipp(netns, address, server, port, work, xml)


async def run_sipp(netns: str, address: str, server: str, port: int, work: Path,
                   xml: Path) -> tuple[int, str]:  # fmt: skip
    proc = await asyncio.create_subprocess_exec(
        "ip", "netns", "exec", netns, require_sipp(), f"{server}:{port}", "-sf", str(xml),
        "-i", address, "-p", "5062", "-m", "1", "-nostdin", "-timeout", "90s",
        "-trace_screen", "-trace_err",
        cwd=work, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, err = await asyncio.wait_for(proc.communicate(), 150)
    logs = sorted(work.glob("*_screen.log")) + sorted(work.glob("*_errors.log"))
    screen = "\n".join(p.read_text(errors="replace") for p in logs) or err.decode(errors="replace")
    for log in logs:
        log.unlink()
    return proc.returncode or 0, screen


class Wiretap:
    """What the server sends the phone, caught on the interface between them: the G.711
    RTP to `phone`, decoded, with when each packet went."""

    def __init__(self, interface: str, phone: str) -> None:
        self.phone = socket.inet_aton(phone)
        # Every protocol: a packet socket sees what leaves an interface only as ETH_P_ALL.
        self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.ntohs(0x0003))
        self.sock.bind((interface, 0))
        self.sock.settimeout(0.2)
        self.frames: list[tuple[float, list[int]]] = []
        self.other = 0  # RTP of other payload types
        self.running = True
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while self.running:
            try:
                frame = self.sock.recv(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            ip = frame[14:]
            if frame[12:14] != b"\x08\x00" or len(ip) < 28 or ip[9] != 17:
                continue
            if ip[16:20] != self.phone:
                continue
            start = (ip[0] & 0x0F) * 4
            packet = rtpraw.parse(ip[start + 8 :])
            if packet is None or not packet.payload:
                continue
            codec = CODECS.get(packet.payload_type)
            if codec is None:
                self.other += 1
                continue
            self.frames.append((time.monotonic(), g711.decode(codec, packet.payload)))

    def levels(self) -> list[tuple[float, float]]:
        """(monotonic time, RMS) of each packet the phone was sent so far."""
        return [(at, math.sqrt(sum(s * s for s in f) / len(f))) for at, f in self.frames if f]

    def level(self, since: float, until: float | None = None) -> float:
        """The RMS of what the phone was sent between two moments (0: nothing came)."""
        end = time.monotonic() if until is None else until
        return level_between(self.levels(), since, end)

    def close(self) -> None:
        self.running = False
        self.thread.join(2)
        self.sock.close()


def listen(interface: str, phone: str, seconds: float) -> list[tuple[float, float]]:
    """What `phone` is sent on `interface` for `seconds`: (monotonic time, RMS) per packet.
    Run where the interface is (`python sip_phone.py listen DEV ADDRESS SECONDS` in the
    phone's namespace); the monotonic clock is the machine's, the same in every namespace."""
    tap = Wiretap(interface, phone)
    time.sleep(seconds)
    tap.close()
    return tap.levels()


def level_between(levels: list[tuple[float, float]], since: float, until: float) -> float:
    """The RMS of what `listen` caught between two moments (0: nothing came)."""
    chosen = [rms for at, rms in levels if since <= at <= until]
    return math.sqrt(sum(r * r for r in chosen) / len(chosen)) if chosen else 0.0


if __name__ == "__main__":
    import json
    import sys

    if sys.argv[1:2] == ["listen"]:
        print(json.dumps(listen(sys.argv[2], sys.argv[3], float(sys.argv[4]))))
