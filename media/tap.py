"""Takes aiortc's receivers and senders off the decode/encode path: RTP goes to our callbacks.

aiortc's `RTCRtpReceiver.receive` starts a decoder thread and a jitter buffer, and
`RTCRtpSender.send` starts an encoder loop. A forwarding server needs neither: these
functions replace those methods on one receiver or sender so that it only registers with its
DTLS transport (which still does ICE, DTLS and SRTP) and hands packets to the router.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiortc import RTCRtpReceiver, RTCRtpSender
from aiortc.rtp import RtpPacket

OnRtp = Callable[[RtpPacket], Awaitable[None]]
OnRtcp = Callable[[Any], Awaitable[None]]


def detach_receiver(receiver: RTCRtpReceiver, on_rtp: OnRtp) -> None:
    """Make `receiver` pass every RTP packet to `on_rtp` instead of decoding it."""
    started = False
    transport = receiver.transport

    async def receive(parameters: Any) -> None:
        nonlocal started
        if not started:
            transport._register_rtp_receiver(receiver, parameters)
            started = True

    async def handle_rtp(packet: RtpPacket, arrival_time_ms: int) -> None:
        await on_rtp(packet)

    async def stop() -> None:
        if started:
            transport._unregister_rtp_receiver(receiver)

    setattr(receiver, "receive", receive)  # noqa: B010 (replacing a method on one instance)
    setattr(receiver, "_handle_rtp_packet", handle_rtp)  # noqa: B010
    setattr(receiver, "stop", stop)  # noqa: B010


def detach_sender(sender: RTCRtpSender, on_rtcp: OnRtcp) -> None:
    """Make `sender` send nothing by itself and pass the RTCP it receives to `on_rtcp`."""
    started = False
    transport = sender.transport

    async def send(parameters: Any) -> None:
        nonlocal started
        if not started:
            transport._register_rtp_sender(sender, parameters)
            started = True

    async def stop() -> None:
        if started:
            transport._unregister_rtp_sender(sender)

    setattr(sender, "send", send)  # noqa: B010 (replacing a method on one instance)
    setattr(sender, "_handle_rtcp_packet", on_rtcp)  # noqa: B010
    setattr(sender, "stop", stop)  # noqa: B010
