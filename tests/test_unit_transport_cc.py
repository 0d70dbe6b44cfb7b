"""Unit tests of transport-cc in the router, the answer and the wire: numbering what is
sent to a viewer, reading its feedback into the server's estimate, judging the fallback by
that estimate, and probing a paused viewer.

The router's edges are recorders, as in test_unit_router."""

from __future__ import annotations

import asyncio
import struct
import time
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any, cast

from test_unit_router import OPUS, RTX, VP8, RecordingReceiver, RecordingWire, remb_from, rtp

from media import twcc
from media.feedback_queue import FeedbackQueue
from media.peer import transport_cc_id, with_transport_cc
from media.router import Inlet, Outlet, Router, Slot
from media.wire import Wire

EXT = 3


class RawWire(RecordingWire):
    def __init__(self) -> None:
        super().__init__()
        self.raw: list[bytes] = []

    def send_rtp(self, packet: bytes) -> None:
        self.raw.append(packet)
        super().send_rtp(packet)


def member(router: Router, pid: str, twcc_id: int | None = EXT) -> tuple[RawWire, list[Slot]]:
    wire, receiver = RawWire(), RecordingReceiver()
    codecs = {"audio": {OPUS: "audio/opus"}, "video": {VP8: "video/vp8", RTX: "video/rtx"}}
    inlets = {kind: Inlet(kind, cast(Any, receiver), codecs[kind], 1) for kind in codecs}
    slots = [
        Slot(
            audio=Outlet("audio", str(2 * i + 2), 1000 + 2 * i, 109, cast(Wire, wire)),
            video=Outlet("video", str(2 * i + 3), 1001 + 2 * i, 120, cast(Wire, wire)),
        )
        for i in range(2)
    ]
    router.add(pid, inlets, slots, twcc_id=twcc_id)
    return wire, slots


def test_everything_sent_to_a_viewer_is_numbered_in_one_sequence() -> None:
    router = Router(lambda pid, slots: None)
    member(router, "a", twcc_id=None)
    wire_b, _ = member(router, "b")
    wire_c, _ = member(router, "c", twcc_id=None)
    router.forward("a", rtp(VP8, 100, 1000, ssrc=5, payload=b"vp8", marker=1))
    router.forward("a", rtp(OPUS, 7, 960, ssrc=6, payload=b"opus"))
    router.forward("a", rtp(VP8, 101, 1000, ssrc=5, payload=b"vp8b"))
    assert [twcc.read_extension(raw, EXT) for raw in wire_b.raw] == [0, 1, 2]
    # The rest of the packet is as before: payload, marker, numbering, SSRC.
    assert [(p.payload, p.marker, p.sequence) for p in wire_b.sent] == [
        (b"vp8", 1, 100),
        (b"opus", 0, 7),
        (b"vp8b", 0, 101),
    ]
    # A viewer that did not negotiate it gets plain 12-byte headers.
    assert all(raw[0] == 0x80 for raw in wire_c.raw)
    log = router.members["b"].measured
    assert log is not None and log.log.sent(2) is not None and log.log.sent(3) is None


async def test_a_resent_packet_gets_a_new_number() -> None:
    from aiortc.rtp import RTCP_RTPFB_NACK, RtcpRtpfbPacket

    router = Router(lambda pid, slots: None)
    member(router, "a", twcc_id=None)
    wire_b, slots_b = member(router, "b")
    for seq in range(20, 23):
        router.forward("a", rtp(VP8, seq, 0, ssrc=5, payload=bytes([seq])))
    nack = RtcpRtpfbPacket(fmt=RTCP_RTPFB_NACK, ssrc=42, media_ssrc=1001, lost=[21])
    await router.feedback("b", slots_b[0], nack)
    assert [twcc.read_extension(raw, EXT) for raw in wire_b.raw] == [0, 1, 2, 3]
    assert wire_b.sent[-1].sequence == 21 and wire_b.sent[-1].payload == bytes([21])


def test_feedback_reaches_the_viewers_estimate() -> None:
    router = Router(lambda pid, slots: None)
    member(router, "a", twcc_id=None)
    member(router, "b")
    for seq in range(30):
        router.forward("a", rtp(VP8, seq, 0, ssrc=5, payload=bytes(1000)))
    arrivals: list[int | None] = [1_000_000 + 5_000 * i for i in range(30)]
    router.transport_feedback("b", twcc.build(1, 1001, 0, 0, arrivals), time.monotonic())
    measured = router.members["b"].measured
    assert measured is not None and measured.feedbacks == 1
    assert measured.estimator.acked.bps() is not None
    router.transport_feedback(
        "b", b"\x80\xc9\x00\x01" + bytes(4), time.monotonic()
    )  # not feedback: ignored
    assert measured.feedbacks == 1


def test_packets_lost_in_an_outage_do_not_count_as_congestion() -> None:
    router = Router(lambda pid, slots: None)
    member(router, "a", twcc_id=None)
    member(router, "b")
    measured = router.members["b"].measured
    assert measured is not None
    for seq in range(200):
        router.forward("a", rtp(VP8, seq, 0, ssrc=5, payload=bytes(1000)))
    arrivals: list[int | None] = [1_000_000 + 5_000 * i for i in range(40)]
    router.transport_feedback("b", twcc.build(1, 1001, 0, 0, arrivals), time.monotonic())
    before = measured.estimator.bitrate
    measured.heard_at -= 3.0  # the link was down for 3 s: the next feedback reports...
    lost: list[int | None] = [None] * 140 + [9_000_000 + 5_000 * i for i in range(20)]
    router.transport_feedback(
        "b", twcc.build(1, 1001, 40, 1, lost), time.monotonic()
    )  # ...140 lost
    nothing = twcc.Report(0, [], [], [], 0, measured.log)
    measured.estimator.update(nothing, time.monotonic() + 1)  # loss is judged after 0.5 s
    assert measured.estimator.loss is None or measured.estimator.loss < 0.02
    assert measured.estimator.bitrate >= before
    assert measured.estimator.congested_at < 0


async def test_the_fallback_judges_the_servers_estimate_not_remb() -> None:
    router = Router(lambda pid, slots: None)
    member(router, "a", twcc_id=None)
    _, slots_b = member(router, "b")
    measured = router.members["b"].measured
    assert measured is not None
    now = time.monotonic()
    measured.heard_at = now + 60  # feedback keeps coming (for the length of the test)
    # The browser's REMB says the link is weak: ignored, the server's estimate is fine.
    await router.feedback("b", slots_b[0], remb_from(50_000, [1001]))
    await router.feedback("b", slots_b[0], remb_from(40_000, [1001]))
    assert [await router.check_links() for _ in range(4)] == [[]] * 4
    # The server's estimate falls for delay alone (a busy receiver's jitter looks the
    # same): senders are held to it, but video goes on.
    measured.estimator.delay_bps = 100_000
    measured.estimator.congested_at = time.monotonic()
    assert [await router.check_links() for _ in range(4)] == [[]] * 4
    assert router.target_for("a", time.monotonic()) == 100_000  # all of it: b shows only a
    # With loss too (a queue that overflows): video pauses after three checks.
    measured.estimator.lossy_at = time.monotonic()
    assert [await router.check_links() for _ in range(3)] == [[], [], [("b", True)]]
    assert router.target_for("a", time.monotonic()) is None  # paused: limits nobody
    # A probe shows room: video comes back after two checks.
    measured.estimator.probed(800_000, time.monotonic())
    assert [await router.check_links() for _ in range(2)] == [[], [("b", False)]]
    # An estimate that did not fall lately limits nobody.
    measured.estimator.congested_at -= 10
    assert router.target_for("a", time.monotonic()) is None


async def test_a_paused_viewer_is_probed_above_its_estimate() -> None:
    router = Router(lambda pid, slots: None)
    member(router, "a", twcc_id=None)
    wire_b, _ = member(router, "b")
    measured = router.members["b"].measured
    assert measured is not None
    measured.heard_at = time.monotonic() + 60
    measured.estimator.delay_bps = 60_000
    measured.estimator.congested_at = measured.estimator.lossy_at = time.monotonic()
    for _ in range(3):
        await router.check_links()
    assert router.members["b"].link.weak
    router.probed_at = time.monotonic() - 0.02
    assert router.probe()
    settled = sum(len(raw) for raw in wire_b.raw)  # padding up to the estimate: 20 ms
    assert 0 < settled < 600
    assert measured.prober.cluster is None  # no probe right after the pause
    measured.prober.next_at = 0.0
    wire_b.raw.clear()
    router.probed_at = time.monotonic() - 0.02
    router.probe()
    cluster = measured.prober.cluster
    assert cluster is not None and cluster.target_bps >= 1.25 * router.thresholds.above_bps
    # 20 ms of it: about target / 8 / 50 bytes, all numbered as the cluster's.
    sent = sum(len(raw) for raw in wire_b.raw)
    assert cluster.target_bps / 8 / 50 * 0.6 < sent < cluster.target_bps / 8 / 50 * 2
    numbers = [twcc.read_extension(raw, EXT) for raw in wire_b.raw]
    assert (cluster.first, cluster.last) == (numbers[0], numbers[-1])
    assert all(raw[0] & 0x20 for raw in wire_b.raw)  # padding, no media


OFFER = "\r\n".join(
    [
        "v=0",
        "m=audio 9 UDP/TLS/RTP/SAVPF 111",
        "a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level",
        f"a=extmap:3 {twcc.URI}",
        "",
    ]
)

ANSWER = "\r\n".join(
    [
        "v=0",
        "o=- 1 1 IN IP4 0.0.0.0",
        "m=audio 9 UDP/TLS/RTP/SAVPF 111",
        "a=sendonly",
        "a=mid:0",
        "a=rtpmap:111 opus/48000/2",
        "m=video 9 UDP/TLS/RTP/SAVPF 96 97",
        "a=sendonly",
        "a=mid:1",
        "a=extmap:4 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time",
        "a=rtpmap:96 VP8/90000",
        "a=rtcp-fb:96 nack",
        "a=rtpmap:97 rtx/90000",
        "a=fmtp:97 apt=96",
        "m=video 9 UDP/TLS/RTP/SAVPF 96",
        "a=recvonly",
        "a=mid:2",
        "a=rtpmap:96 VP8/90000",
        "",
    ]
)


def test_the_answer_gets_transport_cc_where_the_server_sends() -> None:
    assert transport_cc_id(OFFER) == 3
    assert transport_cc_id(OFFER.replace("extmap:3 ", "extmap:15 ")) is None  # two-byte ids
    assert transport_cc_id(OFFER.replace(twcc.URI, "urn:x")) is None
    answer = with_transport_cc(ANSWER, 3)
    sections = answer.split("\r\nm=")
    extmap, feedback = f"a=extmap:3 {twcc.URI}", "transport-cc"
    assert extmap in sections[1] and "a=rtcp-fb:111 transport-cc" in sections[1]
    assert extmap in sections[2] and "a=rtcp-fb:96 transport-cc" in sections[2]
    assert "a=rtcp-fb:97 transport-cc" not in sections[2]  # not for RTX
    assert feedback not in sections[3] and twcc.URI not in sections[3]  # the browser sends
    assert answer.endswith("\r\n") and answer.count("\r\n") == ANSWER.count("\r\n") + 4


async def test_the_wire_hands_feedback_over_and_the_rest_to_aiortc() -> None:
    got: list[bytes] = []
    rest: list[bytes] = []

    async def stock(data: bytes) -> None:
        rest.append(data)

    dtls = SimpleNamespace(
        transport=SimpleNamespace(_connection=SimpleNamespace()), _handle_rtcp_data=stock
    )
    wire = Wire(dtls)
    wire.take_feedback(lambda packet, at: got.append(packet))
    report = struct.pack("!BBHI", 0x80, 201, 1, 9)
    feedback = twcc.build(1, 2, 10, 0, [1000, None])
    await dtls._handle_rtcp_data(report + feedback + report)
    assert got == [feedback] and rest == [report + report]
    await dtls._handle_rtcp_data(feedback)
    assert len(got) == 2 and len(rest) == 1


def inline_wire(
    queue: FeedbackQueue | None = None,
) -> tuple[Any, list[bytes], list[tuple[bytes, float]], Callable[[bytes], bytes | None]]:
    """A wire reading SRTCP in its socket callback: (the socket's protocol, what aiortc's path
    was handed, the feedback got with the time it came, the browser side's SRTCP sealer)."""
    import pylibsrtp
    from srtp_sessions import session
    from test_unit_wire import Connection, udp_pair

    from media import srtp

    pair, _ = udp_pair(5000)
    connection = Connection({1: pair}, [pair.protocol])
    rest: list[bytes] = []

    async def stock(data: bytes) -> None:
        rest.append(data)

    dtls = SimpleNamespace(
        transport=SimpleNamespace(_connection=connection),
        _handle_rtcp_data=stock,
        _rx_srtp=session(pylibsrtp.Policy.SSRC_ANY_INBOUND),
    )
    wire = Wire(dtls)
    got: list[tuple[bytes, float]] = []
    wire.take_feedback(lambda packet, at: got.append((packet, at)), queue)
    wire.receive_inline(lambda data: None)
    protect = srtp.rtcp_protector(session(pylibsrtp.Policy.SSRC_ANY_OUTBOUND))
    return pair.protocol, rest, got, protect


async def test_the_socket_callback_unprotects_feedback_and_hands_the_rest_to_aiortc() -> None:
    protocol, rest, got, protect = inline_wire()
    report = struct.pack("!BBHI", 0x80, 201, 1, 9)
    feedback = twcc.build(1, 2, 10, 0, [1000, None])
    sealed = [protect(data) for data in (feedback, report + feedback, report)]
    assert all(sealed)
    for data in sealed:
        protocol.datagram_received(cast(bytes, data), ("192.0.2.1", 5000))
    protocol.datagram_received(cast(bytes, sealed[0]), ("192.0.2.1", 5000))  # replayed
    await asyncio.sleep(0)
    assert [packet for packet, _ in got] == [feedback, feedback]
    assert rest == [report, report]


async def test_sealed_feedback_waits_in_the_queue_and_the_rest_of_rtcp_does_not() -> None:
    queue = FeedbackQueue(delay=60.0)  # read only when told, in this test
    protocol, rest, got, protect = inline_wire(queue)
    report = struct.pack("!BBHI", 0x80, 201, 1, 9)
    first = twcc.build(1, 2, 10, 0, [1000, None])
    second = twcc.build(1, 2, 12, 1, [2000, 3000])
    sealed = [protect(data) for data in (first, report + second)]
    assert sealed[0] is not None and sealed[1] is not None
    assert twcc.sealed_feedback(sealed[0]) and not twcc.sealed_feedback(sealed[1])
    before = time.monotonic()
    for data in sealed:
        protocol.datagram_received(cast(bytes, data), ("192.0.2.1", 5000))
    protocol.datagram_received(protect(report) or b"", ("192.0.2.1", 5000))
    await asyncio.sleep(0)
    assert got == [] and len(queue) == 2  # the feedback waits, still sealed or not
    assert rest == [report, report]  # the rest went to aiortc at once
    queue.read_all()
    assert [packet for packet, _ in got] == [first, second]  # in the order they came
    assert all(before <= at <= time.monotonic() for _, at in got)  # with the time they came
    assert len(queue) == 0


async def test_a_feedback_packet_that_fails_to_read_loses_nothing_for_the_others() -> None:
    queue = FeedbackQueue(delay=0.01)
    read: list[bytes] = []

    def broken(packet: bytes, at: float) -> None:
        raise IndexError(packet)

    queue.put(broken, b"x", 1.0)
    queue.put(lambda packet, at: read.append(packet), b"y", 2.0)
    await asyncio.sleep(0.05)  # read on its own, after the delay
    assert read == [b"y"] and len(queue) == 0


def test_only_a_lone_feedback_packet_counts_as_sealed_feedback() -> None:
    feedback = twcc.build(1, 2, 10, 0, [1000, None, 2000])
    for trailer in (4 + 10, 4 + 4, 16 + 4):  # HMAC-SHA1-80, -32, AES-GCM
        assert twcc.sealed_feedback(feedback + bytes(trailer))
    assert not twcc.sealed_feedback(feedback)  # no trailer: not SRTCP
    report = struct.pack("!BBHI", 0x81, 201, 7, 9) + bytes(24)
    assert not twcc.sealed_feedback(feedback + report + bytes(14))  # a compound packet
    assert not twcc.sealed_feedback(report + feedback + bytes(14))
    assert not twcc.sealed_feedback(feedback[:10])
