"""The audio of a trunk's SDP offer and our answer (media/sip_sdp.py)."""

from __future__ import annotations

import pytest

from media.sip_sdp import AudioOffer, SdpError, answer_sdp, parse_offer


def offer(media: str, extra: str = "", connection: str = "c=IN IP4 192.0.2.10\r\n") -> bytes:
    return (
        f"v=0\r\no=trunk 1 1 IN IP4 192.0.2.10\r\ns=call\r\n{connection}t=0 0\r\n{media}\r\n{extra}"
    ).encode()


def test_g711_with_events_as_a_trunk_offers_it() -> None:
    body = offer(
        "m=audio 20000 RTP/AVP 8 0 101",
        "a=rtpmap:8 PCMA/8000\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n"
        "a=fmtp:101 0-16\r\na=ptime:20\r\na=sendrecv\r\n",
    )
    audio = parse_offer(body)
    assert audio == AudioOffer("192.0.2.10", 20000, 0, "pcmu/8000", 101, 20, "sendrecv")
    sdp = answer_sdp(audio, "198.51.100.1", 40010, 7).decode()
    assert "c=IN IP4 198.51.100.1\r\n" in sdp and "m=audio 40010 RTP/AVP 0 101\r\n" in sdp
    assert "a=rtpmap:0 PCMU/8000\r\n" in sdp and "a=rtpmap:101 telephone-event/8000\r\n" in sdp
    assert sdp.endswith("a=sendrecv\r\n")


def test_static_types_without_rtpmap_opus_first_and_media_level_address() -> None:
    assert parse_offer(offer("m=audio 4000 RTP/AVP 8")).codec == "pcma/8000"
    wide = offer(
        "m=audio 4000 RTP/AVP 0 111", "c=IN IP4 192.0.2.77\r\na=rtpmap:111 opus/48000/2\r\n"
    )
    audio = parse_offer(wide)
    assert (audio.payload_type, audio.codec, audio.address) == (111, "opus/48000", "192.0.2.77")
    assert audio.events is None
    assert "a=rtpmap:111 opus/48000/2\r\n" in answer_sdp(audio, "::1", 5, 1).decode()
    assert "c=IN IP6 ::1\r\n" in answer_sdp(audio, "::1", 5, 1).decode()


def test_a_stream_turned_down_is_skipped_and_direction_mirrored() -> None:
    body = offer("m=audio 0 RTP/AVP 0\r\nm=audio 5000 RTP/AVP 0", "a=sendonly\r\n")
    audio = parse_offer(body)
    assert audio.port == 5000 and audio.direction == "sendonly"
    assert answer_sdp(audio, "192.0.2.1", 9, 1).decode().endswith("a=recvonly\r\n")


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (offer("m=video 5000 RTP/AVP 96"), "no audio"),
        (offer("m=audio 5000 RTP/SAVP 0"), "no audio"),
        (offer("m=audio 5000 RTP/AVP 9 18", "a=rtpmap:9 G722/8000\r\n"), "no codec"),
        (offer("m=audio 5000 RTP/AVP 0", connection=""), "no address"),
        (offer("m=audio 5000 RTP/AVP 0", connection="c=IN IP4 not-an-ip\r\n"), "not an IP"),
        (offer("m=audio 5000 RTP/AVP 0", "garbage line\r\n"), "not type=value"),
        ("v=0\r\ns=é\r\n".encode(), "not ASCII"),
        (b"v=0\r\n" + b"a=x\r\n" * 1000, "too long"),
        (b"", "no audio"),
    ],
)
def test_offers_a_phone_leg_cannot_take_are_refused(body: bytes, why: str) -> None:
    with pytest.raises(SdpError, match=why):
        parse_offer(body)
