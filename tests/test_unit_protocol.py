"""Unit tests of signaling/protocol.py: message round-trips and every way a message is refused."""

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from signaling.protocol import (
    CLIENT_MESSAGES,
    MAX_CANDIDATE_CHARS,
    MAX_ID_CHARS,
    MAX_MESSAGE_BYTES,
    MAX_NAME_CHARS,
    MAX_SDP_CHARS,
    MAX_TOKEN_CHARS,
    SERVER_MESSAGES,
    Admit,
    Answer,
    AudioOnly,
    Candidate,
    CantTalk,
    ChatLine,
    ChatSend,
    CheckIn,
    CheckInAnswer,
    CheckInAsk,
    CheckInReply,
    Denied,
    Deny,
    DisruptionPlan,
    E2eeFrom,
    E2eeSend,
    End,
    Ended,
    Error,
    HoursEnding,
    Join,
    Joined,
    Leave,
    LobbyLeft,
    LobbyWaiting,
    MediaRestart,
    Message,
    Mute,
    Offer,
    OutsideHours,
    PeerAway,
    PeerBack,
    PeerCantTalk,
    PeerInfo,
    PeerJoined,
    PeerLeft,
    PeerMode,
    PeerMuted,
    PhoneAllow,
    PhoneAllowed,
    PhoneCode,
    PhoneVoice,
    Plan,
    Preview,
    ProtocolError,
    Quality,
    QualityInfo,
    Resume,
    SendVideo,
    SetMode,
    Streams,
    VideoPaused,
    Waiting,
    parse_client_message,
    parse_server_message,
)

CLIENT_EXAMPLES = [
    Join(call="c4ll-id", name="Ana"),
    Join(invite="t0ken", name=""),
    Join(),
    Preview(invite="t0ken"),
    Resume(resume="s3cret"),
    AudioOnly(on=True),
    Admit("p1"),
    Deny("p2"),
    Offer("v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n"),
    Offer("v=0\r\n", restart=True),
    Candidate("candidate:1 1 udp 2122260223 192.0.2.1 54321 typ host", "0", 1),
    Candidate(""),
    Mute(audio=True, video=False),
    Join(invite="t0ken", mode="text"),
    Join(invite="t0ken", e2ee=True),
    Join(call="c4ll-id", e2ee=True),
    SetMode("audio"),
    ChatSend("are you ok?\nI am here"),
    E2eeSend("", "cHVibGljIGtleQ"),
    E2eeSend("p2", "c2VhbGVkLWtleV8x"),
    CantTalk(on=True),
    CheckIn(),
    CheckInAnswer("go"),
    Leave(),
    Leave(quick=True),
    End(),
    PhoneAllow(on=True),
]

PEERS = [
    PeerInfo("p1", "Ana", "staff"),
    PeerInfo("p2", "", "survivor", audio=False, video=True),
]

SERVER_EXAMPLES = [
    Waiting("p1"),
    Joined("p3", "interpreter", 4, PEERS),
    Joined("p1", "staff", 2),
    Joined("p2", "survivor", 4, plan=DisruptionPlan("wait", 15, "we will text the shelter")),
    Plan(DisruptionPlan("survivor-calls-back", 5)),
    Joined("p2", "survivor", 4, resume="s3cret", resumed=True),
    PeerAway("p2"),
    PeerBack("p2"),
    VideoPaused("p2", True, "chosen"),
    VideoPaused("p2", False, "weak-connection"),
    SendVideo(False),
    Denied(),
    LobbyWaiting("p2", "Maria", "survivor"),
    LobbyLeft("p2"),
    Answer("v=0\r\n"),
    PeerJoined(PeerInfo("p2", "Maria", "survivor", audio=True, video=False)),
    PeerLeft("p2"),
    PeerLeft("p2", quick=True),
    PeerMuted("p2", audio=False, video=False),
    PeerMode("p2", "text"),
    ChatLine("p1", "Ana", "staff", "hello", 1),
    E2eeFrom("p1", "c2VhbGVkLWtleV8x"),
    PeerCantTalk("p2", True),
    CheckInAsk(),
    CheckInReply("p2", "audio"),
    OutsideHours("2026-12-07T14:00:00Z"),
    OutsideHours(),
    HoursEnding("2026-12-07T22:00:00Z"),
    MediaRestart(),
    Quality([QualityInfo("p2", "weak", 31, 80, 240, audio_only=True), QualityInfo("p3", "good")]),
    Joined("p1", "survivor", 3, practice=True),
    Joined("p1", "staff", 3, [PeerInfo("p2", "", "survivor", mode="text", cant_talk=True)]),
    Joined("p1", "staff", 3, mode="video", check_in_minutes=15),
    Joined("p2", "survivor", 3, [PeerInfo("p1", "", "staff", e2ee=True)], e2ee=True),
    Joined("p2", "survivor", 3, e2ee=True, e2ee_required=True),
    PeerJoined(PeerInfo("p3", "", "interpreter", e2ee=True)),
    Streams({"1": "p1", "2": "p1", "3": ""}),
    Streams(),
    Ended("ended by staff", "ended-by-staff"),
    Error("bad-field", "nope"),
    PhoneCode(number="+1 555 010 0199", digits="04071992"),
    PhoneCode(),
    PhoneVoice(on=True, phone="p1"),
    PhoneAllowed(on=False),
    PeerJoined(PeerInfo("p2", "", "survivor", video=False, mode="audio", phone=True)),
    LobbyWaiting("p3", "Ana", "interpreter", "audio", phone=True),
]


def code_of(text: str | bytes, parse=parse_client_message) -> str:
    with pytest.raises(ProtocolError) as info:
        parse(text)
    return info.value.code


def msg(**body: object) -> str:
    return json.dumps(body)


# ---------------------------------------------------------------- round trips


def test_examples_cover_every_message_type() -> None:
    assert {m.type for m in CLIENT_EXAMPLES} == set(CLIENT_MESSAGES)
    assert {m.type for m in SERVER_EXAMPLES} == set(SERVER_MESSAGES)


@pytest.mark.parametrize("message", CLIENT_EXAMPLES, ids=repr)
def test_client_message_round_trips(message: Message) -> None:
    assert parse_client_message(message.to_json()) == message


@pytest.mark.parametrize("message", CLIENT_EXAMPLES, ids=repr)
def test_client_message_round_trips_from_bytes(message: Message) -> None:
    assert parse_client_message(message.to_json().encode()) == message


@pytest.mark.parametrize("message", SERVER_EXAMPLES, ids=repr)
def test_server_message_round_trips(message: Message) -> None:
    assert parse_server_message(message.to_json()) == message


def test_joined_peers_come_back_as_peer_info() -> None:
    parsed = parse_server_message(Joined("p3", "interpreter", 4, PEERS).to_json())
    assert isinstance(parsed, Joined)
    assert all(isinstance(p, PeerInfo) for p in parsed.peers)
    assert parsed.peers[1].audio is False


def test_to_json_carries_the_type() -> None:
    assert json.loads(Mute(audio=False, video=True).to_json()) == {
        "type": "mute",
        "audio": False,
        "video": True,
    }


def test_omitted_optional_fields_take_defaults() -> None:
    assert parse_client_message(msg(type="candidate", candidate="x")) == Candidate("x", "", 0)


# ---------------------------------------------------------------- refusals: shape


@pytest.mark.parametrize("text", ["{", "", "nope", "{'type': 'leave'}", b"\xff\xfe", b"\x80"])
def test_invalid_json_is_bad_json(text: str | bytes) -> None:
    assert code_of(text) == "bad-json"


@pytest.mark.parametrize("text", ["[]", "3", '"leave"', "null", "true", '[{"type":"leave"}]'])
def test_non_object_json_is_bad_message(text: str) -> None:
    assert code_of(text) == "bad-message"


@pytest.mark.parametrize("body", [{}, {"type": 1}, {"type": None}, {"type": ["leave"]}])
def test_missing_or_non_string_type_is_bad_message(body: dict[str, object]) -> None:
    assert code_of(json.dumps(body)) == "bad-message"


@pytest.mark.parametrize("kind", ["shout", "", "LEAVE", "joined", "x" * 1000])
def test_unknown_type_is_unknown_type(kind: str) -> None:
    assert code_of(msg(type=kind)) == "unknown-type"


def test_client_type_is_unknown_to_server_parser() -> None:
    assert code_of(Leave().to_json(), parse_server_message) == "unknown-type"


def test_unknown_type_reason_is_clipped() -> None:
    with pytest.raises(ProtocolError) as info:
        parse_client_message(msg(type="x" * 1000))
    assert len(info.value.reason) < 100


# ---------------------------------------------------------------- refusals: fields


@pytest.mark.parametrize(
    "body",
    [
        {"type": "admit"},
        {"type": "deny"},
        {"type": "offer"},
        {"type": "candidate"},
        {"type": "mute", "audio": True},
        {"type": "mute", "video": True},
    ],
)
def test_missing_required_field_is_bad_field(body: dict[str, object]) -> None:
    assert code_of(json.dumps(body)) == "bad-field"


@pytest.mark.parametrize(
    "body",
    [
        {"type": "leave", "extra": 1},
        {"type": "join", "call": "c", "role": "staff"},
        {"type": "admit", "participant": "p", "participants": ["p"]},
    ],
)
def test_unknown_field_is_bad_field(body: dict[str, object]) -> None:
    assert code_of(json.dumps(body)) == "bad-field"


@pytest.mark.parametrize(
    "body",
    [
        {"type": "mute", "audio": "true", "video": True},
        {"type": "mute", "audio": 1, "video": True},
        {"type": "mute", "audio": None, "video": True},
        {"type": "candidate", "candidate": "c", "sdp_mline_index": True},
        {"type": "candidate", "candidate": "c", "sdp_mline_index": "0"},
        {"type": "candidate", "candidate": "c", "sdp_mline_index": 1.0},
        {"type": "candidate", "candidate": "c", "sdp_mline_index": -1},
        {"type": "candidate", "candidate": "c", "sdp_mline_index": 2**16},
        {"type": "join", "name": ["Ana"]},
        {"type": "join", "call": 7},
        {"type": "join", "invite": None},
        {"type": "join", "name": {"first": "Ana"}},
        {"type": "join", "invite": "t", "e2ee": 1},
        {"type": "join", "invite": "t", "e2ee": None},
        {"type": "admit", "participant": False},
        {"type": "offer", "sdp": ["v=0"]},
    ],
    ids=repr,
)
def test_wrong_field_type_is_bad_field(body: dict[str, object]) -> None:
    assert code_of(json.dumps(body)) == "bad-field"


def test_join_e2ee_is_a_boolean_and_false_unless_said() -> None:
    assert parse_client_message(msg(type="join", invite="t")) == Join(invite="t", e2ee=False)
    assert parse_client_message(msg(type="join", invite="t", e2ee=True)) == Join("", "t", e2ee=True)
    with pytest.raises(ProtocolError) as info:
        parse_client_message(msg(type="join", invite="t", e2ee="yes"))
    assert (info.value.code, info.value.reason) == ("bad-field", "join.e2ee must be true or false")


def test_joined_and_peer_info_say_e2ee_under_these_names() -> None:
    joined = Joined("p2", "survivor", 3, [PeerInfo("p1", "", "staff", e2ee=True)], e2ee=True)
    body = json.loads(joined.to_json())
    assert (body["e2ee"], body["e2ee_required"], body["peers"][0]["e2ee"]) == (True, False, True)
    assert json.loads(Join(invite="t").to_json())["e2ee"] is False


@pytest.mark.parametrize(
    ("kind", "name", "limit"),
    [
        ("join", "name", MAX_NAME_CHARS),
        ("join", "invite", MAX_TOKEN_CHARS),
        ("join", "call", MAX_ID_CHARS),
        ("admit", "participant", MAX_ID_CHARS),
        ("offer", "sdp", MAX_SDP_CHARS),
        ("candidate", "candidate", MAX_CANDIDATE_CHARS),
    ],
)
def test_field_at_limit_is_accepted_and_over_it_refused(kind: str, name: str, limit: int) -> None:
    parsed = parse_client_message(json.dumps({"type": kind, name: "a" * limit}))
    assert getattr(parsed, name) == "a" * limit
    assert code_of(json.dumps({"type": kind, name: "a" * (limit + 1)})) == "bad-field"


def test_oversize_sdp_mid_is_bad_field() -> None:
    assert code_of(msg(type="candidate", candidate="c", sdp_mid="m" * 17)) == "bad-field"


def test_oversize_message_is_too_large() -> None:
    text = msg(type="offer", sdp="a" * MAX_MESSAGE_BYTES)
    assert code_of(text) == "too-large"
    assert code_of(text.encode()) == "too-large"


def test_oversize_check_comes_before_json_parsing() -> None:
    assert code_of("{" * (MAX_MESSAGE_BYTES + 1)) == "too-large"


def test_oversize_in_utf8_bytes_is_too_large_for_str_input() -> None:
    text = json.dumps({"type": "offer", "sdp": "é" * (MAX_SDP_CHARS - 10)}, ensure_ascii=False)
    assert len(text) < MAX_MESSAGE_BYTES < len(text.encode())
    assert code_of(text) == "too-large"


def test_deeply_nested_json_is_a_protocol_error() -> None:
    assert code_of("[" * 50_000) in ("bad-json", "bad-message")


def test_server_list_and_dict_fields_are_bounded() -> None:
    many = [PeerInfo(f"p{i}", "", "survivor") for i in range(65)]
    assert code_of(Joined("p", "staff", 4, many).to_json(), parse_server_message) == "bad-field"
    slots = {str(i): "" for i in range(65)}
    assert code_of(Streams(slots).to_json(), parse_server_message) == "bad-field"


JOINED = {"type": "joined", "participant": "p", "role": "staff", "max_participants": 4}


@pytest.mark.parametrize(
    "body",
    [
        {**JOINED, "peers": [{"participant": "p2", "name": "x"}]},
        {**JOINED, "peers": [{"participant": "p2", "name": "x", "role": "r", "extra": 1}]},
        {**JOINED, "peers": ["p2"]},
        {**JOINED, "peers": {"p2": {}}},
        {**JOINED, "max_participants": "4"},
        {"type": "streams", "slots": {"1": 2}},
        {"type": "streams", "slots": ["1"]},
        {"type": "peer-joined", "peer": "p2"},
    ],
    ids=repr,
)
def test_malformed_nested_server_fields_are_bad_field(body: dict[str, object]) -> None:
    assert code_of(json.dumps(body), parse_server_message) == "bad-field"


# ---------------------------------------------------------------- property


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=80),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=20), children, max_size=5)
    ),
    max_leaves=20,
)

field_names = st.sampled_from(
    [
        "call",
        "invite",
        "name",
        "participant",
        "sdp",
        "candidate",
        "sdp_mid",
        "sdp_mline_index",
        "audio",
        "video",
        "peers",
        "slots",
        "type",
        "x",
    ]
)

typed_bodies = st.builds(
    lambda kind, fields: {**fields, "type": kind},
    st.sampled_from([*sorted(CLIENT_MESSAGES), "nope"]),
    st.dictionaries(field_names, json_values, max_size=4),
)


def accepts_or_refuses(text: str | bytes) -> None:
    try:
        result = parse_client_message(text)
    except ProtocolError as exc:
        assert exc.code in {"bad-json", "bad-message", "unknown-type", "bad-field", "too-large"}
    else:
        assert isinstance(result, Message)


@settings(max_examples=300)
@given(json_values)
def test_any_json_value_parses_or_raises_protocol_error(value: object) -> None:
    accepts_or_refuses(json.dumps(value))


@settings(max_examples=300)
@given(typed_bodies)
def test_any_typed_object_parses_or_raises_protocol_error(body: dict[str, object]) -> None:
    accepts_or_refuses(json.dumps(body))


@settings(max_examples=300)
@given(st.text() | st.binary())
def test_any_text_or_bytes_parses_or_raises_protocol_error(text: str | bytes) -> None:
    accepts_or_refuses(text)


# ---------------------------------------------------------------- ways to talk, chat, check-ins


@pytest.mark.parametrize(
    "body",
    [
        {"type": "mode", "mode": "smoke-signals"},
        {"type": "mode", "mode": ""},
        {"type": "join", "invite": "t", "mode": "VIDEO"},
        {"type": "check-in-answer", "answer": "maybe"},
        {"type": "check-in-answer", "answer": 1},
    ],
)
def test_a_way_to_talk_or_an_answer_outside_the_choices_is_bad_field(
    body: dict[str, object],
) -> None:
    assert code_of(msg(**body)) == "bad-field"


def test_a_chat_line_over_the_limit_is_chat_too_long() -> None:
    assert parse_client_message(msg(type="chat", text="a" * 1000)) == ChatSend("a" * 1000)
    assert code_of(msg(type="chat", text="a" * 1001)) == "chat-too-long"
