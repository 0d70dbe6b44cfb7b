"""Unit tests of the router: rewriting across a sender change, NACKs, PLI relay, leaving.

The router's edges are a socket (`Wire`) and aiortc's receiver (for PLI): here they are
small recorders, so every packet the router would put on the network can be read back.
"""

from __future__ import annotations

import time
from typing import Any, cast

from aiortc.rtp import (
    RTCP_PSFB_PLI,
    RTCP_RTPFB_NACK,
    RtcpPacket,
    RtcpPsfbPacket,
    RtcpRtpfbPacket,
)

from media import bandwidth, rtpraw
from media.router import Inlet, Outlet, Router, Slot
from media.wire import Wire

OPUS, VP8, RTX = 111, 96, 97


class RecordingWire:
    def __init__(self) -> None:
        self.sent: list[rtpraw.Header] = []

    def send_rtp(self, packet: bytes) -> None:
        parsed = rtpraw.parse(packet)
        assert parsed is not None
        self.sent.append(parsed)


class RecordingReceiver:
    def __init__(self) -> None:
        self.pli: list[int] = []

    async def _send_rtcp_pli(self, media_ssrc: int) -> None:
        self.pli.append(media_ssrc)


def member(
    router: Router, pid: str, slots: int = 3
) -> tuple[RecordingWire, RecordingReceiver, list[Slot]]:
    wire, receiver = RecordingWire(), RecordingReceiver()
    codecs = {"audio": {OPUS: "audio/opus"}, "video": {VP8: "video/vp8", RTX: "video/rtx"}}
    inlets = {
        kind: Inlet(kind, cast(Any, receiver), codecs[kind], report_ssrc=1) for kind in codecs
    }
    made = [
        Slot(
            audio=Outlet("audio", str(2 * i + 2), 1000 + 2 * i, 109, cast(Wire, wire)),
            video=Outlet("video", str(2 * i + 3), 1001 + 2 * i, 120, cast(Wire, wire)),
        )
        for i in range(slots)
    ]
    router.add(pid, inlets, made)
    return wire, receiver, made


def rtp(pt: int, seq: int, ts: int, ssrc: int, payload: bytes = b"frame", marker: int = 0) -> bytes:
    return rtpraw.build(pt, marker, seq, ts, ssrc, payload)


def test_packets_reach_the_other_with_its_ssrc_and_payload_type() -> None:
    shown: dict[str, dict[str, str]] = {}
    router = Router(lambda pid, slots: shown.__setitem__(pid, slots))
    member(router, "a")
    wire_b, _, _slots_b = member(router, "b")
    assert shown["b"]["3"] == "a" and shown["a"]["3"] == "b"
    router.forward("a", rtp(VP8, 500, 9000, ssrc=77, payload=b"vp8!", marker=1))
    (out,) = wire_b.sent
    assert (out.ssrc, out.payload_type, out.payload, out.marker) == (1001, 120, b"vp8!", 1)
    assert (out.sequence, out.timestamp) == (500, 9000)


def test_rewriting_continues_across_a_sender_change() -> None:
    router = Router(lambda pid, slots: None)
    member(router, "a")
    wire_b, _, _ = member(router, "b")
    router.forward("a", rtp(VP8, 100, 1000, ssrc=5))
    router.forward("a", rtp(VP8, 101, 4000, ssrc=5))
    # The same participant's camera restarts: new SSRC, unrelated numbers.
    router.forward("a", rtp(VP8, 40000, 777, ssrc=6))
    router.forward("a", rtp(VP8, 40001, 3777, ssrc=6))
    assert [p.sequence for p in wire_b.sent] == [100, 101, 102, 103]
    assert [p.timestamp for p in wire_b.sent] == [1000, 4000, 7000, 10000]
    assert {p.ssrc for p in wire_b.sent} == {1001}


def test_rtx_and_padding_are_not_forwarded_and_leave_no_gap() -> None:
    router = Router(lambda pid, slots: None)
    member(router, "a")
    wire_b, _, _ = member(router, "b")
    router.forward("a", rtp(VP8, 10, 0, ssrc=5))
    router.forward("a", rtp(RTX, 3, 0, ssrc=9))  # retransmission stream: dropped
    router.forward("a", rtp(VP8, 11, 0, ssrc=5, payload=b""))  # padding only: dropped
    router.forward("a", rtp(VP8, 12, 0, ssrc=5))
    assert [p.sequence for p in wire_b.sent] == [10, 11]


async def test_nack_is_answered_from_the_cache() -> None:
    router = Router(lambda pid, slots: None)
    member(router, "a")
    wire_b, _, slots_b = member(router, "b")
    for seq in range(20, 30):
        router.forward("a", rtp(VP8, seq, seq * 3000, ssrc=5, payload=bytes([seq])))
    wire_b.sent.clear()
    nack = RtcpRtpfbPacket(fmt=RTCP_RTPFB_NACK, ssrc=42, media_ssrc=1001, lost=[22, 25, 9999])
    await router.feedback("b", slots_b[0], nack)
    assert [(p.sequence, p.payload) for p in wire_b.sent] == [(22, bytes([22])), (25, bytes([25]))]
    assert router.resent == 2


async def test_picture_loss_is_relayed_to_the_source() -> None:
    router = Router(lambda pid, slots: None)
    _, receiver_a, _ = member(router, "a")
    _, _, slots_b = member(router, "b")
    router.forward("a", rtp(VP8, 1, 0, ssrc=55))
    pli = RtcpPsfbPacket(fmt=RTCP_PSFB_PLI, ssrc=42, media_ssrc=1001)
    await router.feedback("b", slots_b[0], pli)
    await router.feedback("b", slots_b[0], pli)  # a burst asks the sender only once
    assert receiver_a.pli == [55]


def test_a_receiver_leaving_mid_stream_frees_its_slot_and_others_go_on() -> None:
    shown: dict[str, dict[str, str]] = {}
    router = Router(lambda pid, slots: shown.__setitem__(pid, dict(slots)))
    member(router, "a")
    wire_b, _, _ = member(router, "b")
    wire_c, _, _ = member(router, "c")
    router.forward("a", rtp(OPUS, 1, 960, ssrc=3))
    router.remove("c")
    router.forward("a", rtp(OPUS, 2, 1920, ssrc=3))
    assert len(wire_b.sent) == 2 and len(wire_c.sent) == 1
    assert "c" not in shown["a"].values() and "c" not in shown["b"].values()
    # Someone new takes the freed slot.
    member(router, "d")
    assert "d" in shown["a"].values()


def test_echo_router_shows_a_member_to_itself() -> None:
    router = Router(lambda pid, slots: None, echo=True)
    wire, _, _ = member(router, "solo", slots=1)
    router.forward("solo", rtp(OPUS, 7, 960, ssrc=3))
    assert [p.sequence for p in wire.sent] == [7]


def test_presence_counts_someone_away_after_two_silent_checks_and_back_on_media() -> None:
    router = Router(lambda *_: None)
    member(router, "a")
    member(router, "b")
    assert router.check_presence() == []  # nobody has sent yet: nobody can be missed
    router.forward("a", rtp(OPUS, 1, 960, ssrc=3))
    assert router.check_presence() == []
    assert router.check_presence() == []  # one quiet second
    assert router.check_presence() == [("a", True)]
    assert router.check_presence() == []  # said once
    router.forward("a", rtp(OPUS, 2, 1920, ssrc=3))
    assert router.check_presence() == [("a", False)]


async def test_a_sender_is_asked_for_what_its_most_limited_viewer_can_take() -> None:
    router = Router(lambda *_: None)
    _, _, a_slots = member(router, "a")
    _, _, b_slots = member(router, "b")
    _, _, c_slots = member(router, "c")
    now = time.monotonic()
    assert router.target_for("a", now) is None  # nobody has said what they can take

    def slot_showing(slots: list[Slot], source: str) -> Slot:
        return next(s for s in slots if s.source == source)

    # b can take 1 Mbps for the two people it shows, c only 300 kbps.
    await router.feedback("b", slot_showing(b_slots, "a"), remb_from(1_000_000, [1001]))
    await router.feedback("c", slot_showing(c_slots, "a"), remb_from(300_000, [1001]))
    # Each gets half of c's estimate for its audio and video together: the browser fits its
    # video beside its audio (asking for less would keep c's estimate from ever growing).
    assert router.target_for("a", time.monotonic()) == 300_000 // 2
    assert router.target_for("b", time.monotonic()) == 300_000 // 2
    # c's link has just carried far more than it says, without loss: its estimate is stale
    # (it started low and grows slowly), no limit. With loss, it is one again.
    router.members["c"].downlink.delivered_bps = 600_000
    assert router.target_for("a", time.monotonic()) == 1_000_000 // 2
    router.members["c"].downlink.loss = bandwidth.SOME_LOSS
    assert router.target_for("a", time.monotonic()) == 300_000 // 2
    router.members["c"].downlink.loss = 0.0
    # An old estimate stops counting.
    later = time.monotonic() + bandwidth.ESTIMATE_SECONDS + 1
    assert router.target_for("a", later) is None
    await router.feedback("b", slot_showing(b_slots, "a"), remb_from(20_000, [1001]))
    assert router.target_for("a", time.monotonic()) == bandwidth.MIN_SHARE_BPS
    assert a_slots  # a shows the others too; its own estimate is unknown


def remb_from(bitrate: int, ssrcs: list[int]) -> Any:
    (packet,) = RtcpPacket.parse(bandwidth.remb(77, bitrate, ssrcs))
    assert bandwidth.read_remb(packet) is not None
    return packet


async def test_an_audio_only_viewer_gets_audio_and_video_resumes_in_sequence_with_a_keyframe() -> (
    None
):
    router = Router(lambda *_: None)
    _, a_receiver, _ = member(router, "a")
    b_wire, _, _ = member(router, "b")
    router.forward("a", rtp(VP8, 10, 3000, ssrc=5))
    await router.set_video("b", False)
    router.forward("a", rtp(VP8, 11, 6000, ssrc=5))  # not for b
    router.forward("a", rtp(OPUS, 1, 960, ssrc=3))  # audio still is
    assert [p.payload_type for p in b_wire.sent] == [120, 109]
    await router.set_video("b", True)
    assert a_receiver.pli == [5]  # a keyframe for the returning viewer
    router.forward("a", rtp(VP8, 40, 90000, ssrc=5))
    first, _, back = b_wire.sent
    assert back.sequence == (first.sequence + 1) % 65536  # no gap that would look like loss
