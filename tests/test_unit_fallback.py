"""Unit tests of the audio-only fallback: judging a viewer's link, padding, and the router.

The router's edges are recorders (see test_unit_router): every packet it would send can be
read back, and RTCP from a viewer is built as a browser would send it.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from aiortc.rtp import RtcpPacket, RtcpReceiverInfo, RtcpRrPacket
from test_unit_router import OPUS, VP8, member, remb_from, rtp

from media import bandwidth, fallback
from media.router import Router, Slot

T = fallback.Thresholds(below_bps=150_000, above_bps=300_000, weak_checks=3, recover_checks=3)


def test_a_link_is_weak_after_three_low_checks_in_a_row_and_back_after_three_high() -> None:
    link = fallback.LinkWatch()
    assert [link.check(100_000, None, T) for _ in range(2)] == [None, None]
    assert link.check(400_000, None, T) is None  # one good check starts the count again
    assert [link.check(149_999, None, T) for _ in range(3)] == [None, None, True]
    # Between the thresholds is neither: no recovery (hysteresis).
    assert [link.check(250_000, None, T) for _ in range(5)] == [None] * 5
    assert [link.check(300_000, None, T) for _ in range(3)] == [None, None, False]
    assert not link.weak


def test_loss_makes_a_link_weak_and_recovery_needs_little_loss() -> None:
    link = fallback.LinkWatch()
    # Loss takes longer than a low estimate: a sender needs a few seconds to adapt.
    assert [link.check(None, 0.25, T) for _ in range(4)] == [None] * 4
    assert link.check(None, 0.25, T) is True
    # A good estimate is not enough while a tenth of the padding is lost.
    assert [link.check(500_000, 0.15, T) for _ in range(4)] == [None] * 4
    assert [link.check(500_000, 0.02, T) for _ in range(3)] == [None, None, False]
    # No estimate and too few packets to judge: nothing changes, either way.
    assert [link.check(None, None, T) for _ in range(5)] == [None] * 5


def test_thresholds_must_leave_room_for_hysteresis() -> None:
    with pytest.raises(ValueError):
        fallback.Thresholds(below_bps=300_000, above_bps=300_000)


def test_loss_is_counted_between_checks_from_cumulative_reports() -> None:
    loss = fallback.Loss()
    assert loss.since_check() == (0, 0)  # no report yet
    loss.reported(highest=1000, lost=5)
    assert loss.since_check() == (0, 0)  # the first report only sets the start
    loss.reported(highest=1100, lost=25)
    assert loss.since_check() == (100, 20)
    loss.reported(highest=1150, lost=20)  # late packets arrived: lost went down
    assert loss.since_check() == (50, 0)
    loss.reported(highest=1160, lost=90)  # never more lost than expected
    assert loss.since_check() == (10, 10)
    assert fallback.loss_share(100, 20) == 0.2
    assert fallback.loss_share(fallback.MIN_PACKETS - 1, 5) is None


def test_padding_fills_up_to_the_estimate_and_never_stops() -> None:
    link = fallback.LinkWatch()
    # A 200 kbit/s estimate: 200 kbit/s of padding, 500 bytes per 20 ms. (Browsers count
    # only video streams in their estimate: less padding would keep it from growing.)
    assert link.padding(200_000, 1, 0.02, T) == 500
    # Above the recovery threshold the padding stops growing.
    assert link.padding(900_000, 1, 0.02, T) == 300_000 * 0.02 / 8
    # A tiny estimate: the minimum, carried over between rounds.
    rounds = [link.padding(5_000, 1, 0.002, T) for _ in range(10)]
    assert sum(rounds) == fallback.MIN_PAD_BPS * 0.02 / 8
    assert rounds[0] == 5
    # No estimate at all: what padding has shown the link takes, less the audio.
    assert link.padding(None, 1, 0.02, T) == (fallback.PROBE_START_BPS - 40_000) * 0.02 / 8


def test_without_an_estimate_padding_grows_while_it_arrives_and_video_comes_back() -> None:
    link = fallback.LinkWatch()
    assert [link.check(None, 0.5, T) for _ in range(5)] == [None] * 4 + [True]
    assert link.probed_bps == fallback.PROBE_START_BPS
    # Lost padding: it shrinks. Then it arrives: it grows by a quarter each check.
    assert link.check(None, 0.3, T) is None and link.probed_bps == 85_000
    assert link.check(None, None, T) is None and link.probed_bps == 85_000  # nothing to judge
    grown = []
    while (change := link.check(None, 0.0, T)) is None:
        grown.append(link.probed_bps)
        assert len(grown) < 20
    assert change is False  # recovered
    assert grown[:2] == [106_250, 132_812] and grown[-1] == T.above_bps
    assert grown.count(T.above_bps) == T.recover_checks - 1


def rr(reporter: int, media_ssrc: int, highest: int, lost: int) -> Any:
    report = RtcpReceiverInfo(
        ssrc=media_ssrc,
        fraction_lost=0,
        packets_lost=lost,
        highest_sequence=highest,
        jitter=0,
        lsr=0,
        dlsr=0,
    )
    (packet,) = RtcpPacket.parse(bytes(RtcpRrPacket(ssrc=reporter, reports=[report])))
    return packet


def showing(slots: list[Slot], source: str) -> Slot:
    return next(s for s in slots if s.source == source)


async def test_a_weak_viewer_gets_audio_and_padding_and_video_again_with_a_keyframe() -> None:
    router = Router(lambda *_: None, thresholds=T)
    _, a_receiver, _ = member(router, "a")
    b_wire, _, b_slots = member(router, "b")
    router.forward("a", rtp(VP8, 10, 3000, ssrc=5))
    slot = showing(b_slots, "a")
    # A low estimate alone is not a weak link: it may only mean little was sent so far.
    for _ in range(3):
        await router.feedback("b", slot, remb_from(100_000, [slot.video.ssrc]))
        assert await router.check_links() == []
    # Once it falls (the browser saw queues grow), it is.
    for _ in range(3):
        await router.feedback("b", slot, remb_from(300_000, [slot.video.ssrc]))
        await router.feedback("b", slot, remb_from(120_000, [slot.video.ssrc]))
        changes = await router.check_links()
    assert changes == [("b", True)]
    # b's estimate no longer limits what a is asked to send: b gets none of its video.
    assert router.target_for("a", time.monotonic()) is None

    router.forward("a", rtp(VP8, 11, 6000, ssrc=5))  # not for b
    router.forward("a", rtp(OPUS, 1, 960, ssrc=3))  # audio still is
    assert [p.payload_type for p in b_wire.sent] == [120, 109]
    assert router.probe()
    time.sleep(0.02)
    assert router.probe()
    padding = b_wire.sent[2:]
    assert padding and all(p.payload == b"" and p.ssrc == slot.video.ssrc for p in padding)
    assert [p.sequence for p in padding] == list(range(11, 11 + len(padding)))

    for _ in range(3):
        await router.feedback("b", slot, remb_from(350_000, [slot.video.ssrc]))
        changes = await router.check_links()
    assert changes == [("b", False)]
    assert a_receiver.pli == [5]  # a keyframe for the returning viewer
    assert not router.probe()  # nobody left to pad
    router.forward("a", rtp(VP8, 40, 90000, ssrc=5))
    back = b_wire.sent[-1]
    assert back.payload_type == 120 and back.payload
    assert back.sequence == padding[-1].sequence + 1  # after the padding, no gap


async def test_heavy_video_loss_pauses_video_and_a_chosen_audio_only_is_not_judged() -> None:
    router = Router(lambda *_: None, thresholds=T)
    member(router, "a")
    _, _, b_slots = member(router, "b")
    _, _, c_slots = member(router, "c")
    await router.set_video("c", False)  # c chose audio only
    b_slot, c_slot = showing(b_slots, "a"), showing(c_slots, "a")
    highest = 1000
    changes: list[tuple[str, bool]] = []
    for _ in range(6):  # the first report only sets where counting starts
        highest += 100
        await router.feedback("b", b_slot, rr(9, b_slot.video.ssrc, highest, highest // 4))
        await router.feedback("c", c_slot, rr(9, c_slot.video.ssrc, highest, highest // 2))
        changes += await router.check_links()
    assert changes == [("b", True)]


async def test_a_viewers_heavy_loss_lowers_what_the_sender_is_asked_for() -> None:
    router = Router(lambda *_: None, thresholds=T)
    member(router, "a")
    _, _, b_slots = member(router, "b")
    slot = showing(b_slots, "a")
    await router.feedback("b", slot, remb_from(1_100_000, [slot.video.ssrc]))
    await router.feedback("b", slot, remb_from(1_000_000, [slot.video.ssrc]))  # a fall
    await router.feedback("b", slot, rr(9, slot.video.ssrc, 1000, 0))
    await router.check_links()
    assert router.target_for("a", time.monotonic()) == 1_000_000  # nothing lost
    await router.feedback("b", slot, rr(9, slot.video.ssrc, 1100, 5))
    await router.check_links()
    assert router.target_for("a", time.monotonic()) == 1_000_000  # 5 %: delay decides
    await router.feedback("b", slot, rr(9, slot.video.ssrc, 1200, 25))
    await router.check_links()
    assert router.target_for("a", time.monotonic()) == 1_000_000 * (1 - 0.2 / 2)  # 20 %
    await router.feedback("b", slot, rr(9, slot.video.ssrc, 1300, 55))
    await router.check_links()
    assert router.target_for("a", time.monotonic()) == int(1_000_000 * (1 - 0.3 / 2))


async def test_an_estimate_far_under_what_the_link_just_carried_is_stale() -> None:
    router = Router(lambda *_: None, thresholds=T)
    member(router, "a")
    _, _, b_slots = member(router, "b")
    slot = showing(b_slots, "a")
    seq = 0

    async def carry_100_kb_and_check() -> list[tuple[str, bool]]:
        nonlocal seq
        for _ in range(100):
            router.forward("a", rtp(VP8, seq, 3000 * seq, ssrc=5, payload=bytes(1000)))
            seq += 1
        time.sleep(0.1)
        return await router.check_links()

    await router.check_links()  # where counting starts
    assert await carry_100_kb_and_check() == []
    delivered = router.members["b"].downlink.delivered_bps
    assert 100 * 1000 * 8 / 0.2 < delivered < 100 * 1000 * 8 / 0.1  # 100 kB in ~0.1 s
    # b's browser says 100 kbit/s (and it fell): the link carries some 8 Mbit/s without
    # loss, so the estimate is stale. It pauses nothing.
    for estimate in (120_000, 100_000):
        await router.feedback("b", slot, remb_from(estimate, [slot.video.ssrc]))
    assert router.members["b"].downlink.fell(time.monotonic())
    assert [await carry_100_kb_and_check() for _ in range(3)] == [[], [], []]
    # Just after its fall it limits the sender; once the fall is old, no more.
    assert router.target_for("a", time.monotonic()) == 100_000
    router.members["b"].downlink.fell_at -= bandwidth.CONGESTED_SECONDS
    assert router.target_for("a", time.monotonic()) is None
    # Once the link carries no more than its estimate allows, a fall counts.
    await router.feedback("b", slot, remb_from(90_000, [slot.video.ssrc]))
    assert [await router.check_links() for _ in range(3)] == [[], [], [("b", True)]]
