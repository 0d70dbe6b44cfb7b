"""SIP requests read strictly and answered (media/sip_message.py): what a trunk sends, the
forms RFC 3261 allows (compact headers, folded lines, several Vias on a line), and the
refusals, each with the status a UAS answers or a silent drop where no answer can go."""

from __future__ import annotations

import pytest

from media.sip_message import MAX_DATAGRAM, SipError, answer, parse_request

NUMBER = "+15145550123"  # a caller's number: never in a repr


def invite(*, headers: str = "", body: str = "v=0\r\n", cseq: str = "1 INVITE") -> bytes:
    base = (
        "INVITE sip:svc@10.0.0.1:5060 SIP/2.0\r\n"
        "Via: SIP/2.0/UDP 10.0.0.9:5060;branch=z9hG4bK-abc;rport\r\n"
        f'From: "Caller" <sip:{NUMBER}@trunk.example>;tag=ft1\r\n'
        "To: <sip:svc@10.0.0.1>\r\n"
        "Call-ID: c1@10.0.0.9\r\n"
        f"CSeq: {cseq}\r\n"
        "Max-Forwards: 70\r\n"
        f"Contact: <sip:{NUMBER}@10.0.0.9:5060>\r\n"
        "Content-Type: application/sdp\r\n"
    )
    length = f"Content-Length: {len(body.encode())}\r\n" if "Content-Length" not in headers else ""
    return (base + headers + length + "\r\n" + body).encode()


def refusal(datagram: bytes) -> tuple[int, bool]:
    with pytest.raises(SipError) as caught:
        parse_request(datagram)
    return caught.value.status, caught.value.answerable


def test_a_trunks_invite_is_read_whole() -> None:
    request = parse_request(invite())
    assert (request.method, request.uri) == ("INVITE", "sip:svc@10.0.0.1:5060")
    assert request.call_id == "c1@10.0.0.9" and request.cseq == (1, "INVITE")
    assert request.branch == "z9hG4bK-abc" and request.from_tag == "ft1"
    assert request.to_tag == "" and request.body == b"v=0\r\n"
    assert NUMBER not in repr(request) and repr(request) == "SipRequest(INVITE)"


def test_compact_forms_folded_lines_bare_lf_and_lists_are_read() -> None:
    datagram = (
        b"OPTIONS sip:svc@10.0.0.1 SIP/2.0\n"
        b"v: SIP/2.0/UDP 10.0.0.9;branch=z9hG4bK-1, SIP/2.0/UDP 10.0.0.8;branch=z9hG4bK-2\n"
        b"f: <sip:a@b>;tag=x\n"
        b"t: <sip:svc@10.0.0.1>\n"
        b"i: opt-1\n"
        b"CSeq:\n 7\n\tOPTIONS\n"
        b"max-forwards: 69\n"
        b"l: 0\n\n"
    )
    request = parse_request(datagram)
    assert request.headers["via"] == [
        "SIP/2.0/UDP 10.0.0.9;branch=z9hG4bK-1",
        "SIP/2.0/UDP 10.0.0.8;branch=z9hG4bK-2",
    ]
    assert request.cseq == (7, "OPTIONS") and request.call_id == "opt-1"


def test_an_ack_carries_the_invites_cseq_method() -> None:
    ack = invite(cseq="1 INVITE", body="").replace(b"INVITE sip:", b"ACK sip:", 1)
    assert parse_request(ack).method == "ACK"


@pytest.mark.parametrize(
    ("datagram", "status", "answerable"),
    [
        (b"", 400, False),
        (b"\r\n\r\n", 400, False),  # a keep-alive
        (b"\x00\xff garbage \r\n\r\n", 400, False),
        (b"SIP/2.0 200 OK\r\nVia: x\r\n\r\n", 400, False),  # an answer, not a request
        (invite().replace(b"Via: SIP/2.0/UDP 10.0.0.9:5060;branch=z9hG4bK-abc;rport\r\n", b""),
         400, False),
        (invite().replace(b";branch=z9hG4bK-abc", b""), 400, False),
        (invite().replace(b"Call-ID: c1@10.0.0.9\r\n", b""), 400, True),
        (invite().replace(b"Max-Forwards: 70\r\n", b""), 400, True),
        (invite(cseq="x INVITE"), 400, True),
        (invite(cseq="1 BYE"), 400, True),
        (invite(cseq="99999999999 INVITE"), 400, True),
        (invite(headers="Content-Length: 500\r\n"), 400, True),
        (invite(headers="Content-Length: -1\r\n"), 400, True),
        (invite(headers="Call-ID: second\r\n"), 400, True),
        (invite().replace(b"Max-Forwards: 70", b"Max-Forwards: many"), 400, True),
        (invite().replace(b"To: <sip:svc@10.0.0.1>", b"To: <sip:svc@10.0.0.1>\rInjected: 1"),
         400, False),
        (invite(headers="Bad Header Name: 1\r\n"), 400, False),
        (invite(headers="".join(f"X-H{n}: {n}\r\n" for n in range(70))), 400, False),
        (invite(body="x" * MAX_DATAGRAM), 513, False),
        (invite().replace(b"Caller", "Caller \udc80".encode("utf-8", "surrogateescape")),
         400, False),
    ],
)  # fmt: skip
def test_bad_requests_are_refused_with_their_status(
    datagram: bytes, status: int, answerable: bool
) -> None:
    assert refusal(datagram) == (status, answerable)


def test_a_body_without_content_length_is_the_rest_of_the_datagram() -> None:
    datagram = invite(headers="Content-Length: 5\r\n", body="v=0\r\n").replace(
        b"Content-Length: 5\r\n", b""
    )
    assert parse_request(datagram).body == b"v=0\r\n"


def test_an_answer_keeps_the_vias_marks_where_the_request_came_from_and_adds_our_tag() -> None:
    request = parse_request(invite(headers="Via: SIP/2.0/UDP proxy.example;branch=z9hG4bK-p\r\n"))
    raw = answer(
        request, 200, "OK", to_tag="ours", source=("203.0.113.9", 5070),
        headers=[("Contact", "<sip:svc@10.0.0.1:5060>")], body=b"v=0\r\n",
    )  # fmt: skip
    text = raw.decode()
    head, body = text.split("\r\n\r\n")
    lines = head.split("\r\n")
    assert lines[0] == "SIP/2.0 200 OK"
    assert lines[1] == (
        "Via: SIP/2.0/UDP 10.0.0.9:5060;branch=z9hG4bK-abc;received=203.0.113.9;rport=5070"
    )
    assert lines[2] == "Via: SIP/2.0/UDP proxy.example;branch=z9hG4bK-p"
    assert "To: <sip:svc@10.0.0.1>;tag=ours" in lines
    assert "CSeq: 1 INVITE" in lines and "Call-ID: c1@10.0.0.9" in lines
    assert lines[-1] == "Content-Length: 5" and body == "v=0\r\n"
    # An answer to a request that already has a To-tag keeps theirs.
    again = parse_request(invite().replace(b"To: <sip:svc@10.0.0.1>", b"To: <sip:s@h>;tag=t9"))
    assert "To: <sip:s@h>;tag=t9\r\n" in answer(again, 200, "OK", to_tag="ours").decode()
