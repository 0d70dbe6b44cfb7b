"""The signaling messages exchanged over `/ws`: one dataclass per message type."""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar, Union

MAX_MESSAGE_BYTES = 64 * 1024
MAX_SDP_CHARS = 48 * 1024
MAX_NAME_CHARS = 40
MAX_TOKEN_CHARS = 64
MAX_ID_CHARS = 64
MAX_CANDIDATE_CHARS = 512
MAX_NOTE_CHARS = 280
PLAN_ACTIONS = ("staff-calls-back", "survivor-calls-back", "wait")
MAX_PLAN_MINUTES = 60
MAX_CHAT_CHARS = 1000
MAX_E2EE_CHARS = 2048  # an end-to-end encryption message, base64url (keys, sealed boxes)
MAX_REASON_CHARS = 256  # an error's reason, which may quote (a cut of) what was refused
MAX_CHECK_IN_MINUTES = 120
MODES = ("video", "audio", "text")  # ways to talk: video, audio only, text only
CHECK_IN_ANSWERS = ("ok", "text", "audio", "go")  # fine / switch to text / to audio / must go


class ProtocolError(Exception):
    """A message that cannot be accepted; `code` is machine-readable, `reason` is for people."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(f"{code}: {reason}")
        self.code = code
        self.reason = reason


@dataclass(frozen=True)
class Message:
    """Base of every message; subclasses set `type`."""

    type: ClassVar[str] = ""

    def to_json(self) -> str:
        body: dict[str, Any] = {"type": self.type}
        body.update(dataclasses.asdict(self))
        return json.dumps(body, separators=(",", ":"))


# ---------------------------------------------------------------- client -> server


@dataclass(frozen=True)
class Join(Message):
    """Enter a call: staff name a call they own, invitees present their invite token.

    With `echo` and an invite, enter a connection test instead: no lobby, no staff, and the
    server sends your own audio and video back to you.
    """

    type: ClassVar[str] = "join"
    call: str = ""
    invite: str = ""
    name: str = ""
    echo: bool = False
    mode: str = "video"  # how they chose to talk: "video", "audio" (only) or "text" (only)
    # This page will seal its media end to end: its browser can (encoded transforms) and
    # it holds the call's secret. Not checked by the server, which cannot; only recorded.
    e2ee: bool = False


@dataclass(frozen=True)
class Resume(Message):
    """Come back to the call after the connection dropped, with the secret from `joined`."""

    type: ClassVar[str] = "resume"
    resume: str


@dataclass(frozen=True)
class Admit(Message):
    """Staff lets someone in from the lobby."""

    type: ClassVar[str] = "admit"
    participant: str


@dataclass(frozen=True)
class Deny(Message):
    """Staff turns someone away from the lobby."""

    type: ClassVar[str] = "deny"
    participant: str


@dataclass(frozen=True)
class Preview(Message):
    """Before joining: what happens if the call of this invite drops (answered with `plan`)."""

    type: ClassVar[str] = "preview"
    invite: str


@dataclass(frozen=True)
class Offer(Message):
    """An SDP offer from the browser to the server (first offer or renegotiation)."""

    type: ClassVar[str] = "offer"
    sdp: str
    restart: bool = False  # a new peer connection replacing one that failed


@dataclass(frozen=True)
class Candidate(Message):
    """A trickled ICE candidate from the browser; an empty candidate ends gathering."""

    type: ClassVar[str] = "candidate"
    candidate: str
    sdp_mid: str = ""
    sdp_mline_index: int = 0


@dataclass(frozen=True)
class Mute(Message):
    """The sender's own microphone and camera state."""

    type: ClassVar[str] = "mute"
    audio: bool
    video: bool


@dataclass(frozen=True)
class AudioOnly(Message):
    """Receive (and send) no video, only audio: for a connection too weak for video."""

    type: ClassVar[str] = "audio-only"
    on: bool


@dataclass(frozen=True)
class SetMode(Message):
    """Switch the way to talk during the call; "audio" and "text" receive no video."""

    type: ClassVar[str] = "mode"
    mode: str


@dataclass(frozen=True)
class ChatSend(Message):
    """A line of text chat for everyone in the call now: relayed, never kept or logged."""

    type: ClassVar[str] = "chat"
    text: str


@dataclass(frozen=True)
class E2eeSend(Message):
    """An end-to-end encryption message (public keys, call keys sealed for their reader) for
    one person in the call (`to`), or for everyone else in it (`to` empty). `data` is
    base64url that only the pages read: relayed as it is, never kept or logged."""

    type: ClassVar[str] = "e2ee"
    to: str
    data: str


@dataclass(frozen=True)
class CantTalk(Message):
    """ "I can't talk now" (on) or "I'm back" (off)."""

    type: ClassVar[str] = "cant-talk"
    on: bool


@dataclass(frozen=True)
class CheckIn(Message):
    """Staff asks the others in the call whether the call is still comfortable and safe."""

    type: ClassVar[str] = "check-in"


@dataclass(frozen=True)
class CheckInAnswer(Message):
    """The answer to a check-in: "ok", "text" (switch me to text), "audio" (to audio only)
    or "go" (I need to go)."""

    type: ClassVar[str] = "check-in-answer"
    answer: str


@dataclass(frozen=True)
class Leave(Message):
    """Hang up: leave the call (the call goes on for the others).

    `quick`: the quick exit; everyone's chat is cleared and staff follow the drop plan.
    """

    type: ClassVar[str] = "leave"
    quick: bool = False


@dataclass(frozen=True)
class End(Message):
    """Staff ends the call for everyone."""

    type: ClassVar[str] = "end"


@dataclass(frozen=True)
class PhoneAllow(Message):
    """Staff allow phone audio in the call (on), or no longer (off): everyone else is given
    a code to dial in with (`phone-code`), or told theirs is gone. Phones already in the
    call stay."""

    type: ClassVar[str] = "phone"
    on: bool


# ---------------------------------------------------------------- server -> client


@dataclass(frozen=True)
class PeerInfo:
    """Who someone in the call is, as others see them."""

    participant: str
    name: str
    role: str
    audio: bool = True
    video: bool = True
    mode: str = "video"  # how they chose to talk
    cant_talk: bool = False  # they said "I can't talk now"
    e2ee: bool = False  # their page seals its media end to end (as it said at `join`)
    phone: bool = False  # a phone that dialed in: a voice, with no page and no video
    phone_of: str = ""  # whose voice the phone is, while that person's page is here


@dataclass(frozen=True)
class DisruptionPlan:
    """What happens if the call drops, as staff recorded it when creating the call.

    `action`: "staff-calls-back" (staff call back on this link), "survivor-calls-back" (the
    survivor opens the link again) or "wait" (staff wait for the survivor to come back);
    `minutes`: how long (1 to 60); `note`: optional, e.g. how staff follow up otherwise.
    """

    action: str = "staff-calls-back"
    minutes: int = 10
    note: str = ""


@dataclass(frozen=True)
class IceServer:
    """A TURN server the browser may relay media through, as RTCIceServer takes it."""

    urls: list[str]
    username: str
    credential: str


@dataclass(frozen=True)
class Plan(Message):
    """The disruption plan of the call an invite leads to."""

    type: ClassVar[str] = "plan"
    plan: DisruptionPlan


@dataclass(frozen=True)
class OutsideHours(Message):
    """The link is outside its call's hours: it opens at `opens_at` (ISO 8601, UTC), or ""
    when no opening is planned (the call's own time is over). Nobody is told of the visit."""

    type: ClassVar[str] = "outside-hours"
    opens_at: str = ""


@dataclass(frozen=True)
class HoursEnding(Message):
    """To staff in a call: the organization's hours (or the call's own time) end at `at`
    (ISO 8601, UTC), in ten minutes or less. The call is not cut."""

    type: ClassVar[str] = "hours-ending"
    at: str


@dataclass(frozen=True)
class Waiting(Message):
    """You are in the lobby until staff admits you."""

    type: ClassVar[str] = "waiting"
    participant: str


@dataclass(frozen=True)
class Joined(Message):
    """You are in the call; `peers` are the others already there."""

    type: ClassVar[str] = "joined"
    participant: str
    role: str
    max_participants: int
    peers: list[PeerInfo] = field(default_factory=list)
    echo: bool = False
    plan: DisruptionPlan = field(default_factory=DisruptionPlan)
    ice_servers: list[IceServer] = field(default_factory=list)
    resume: str = ""  # keep in page memory only: `resume` with it after a drop
    resumed: bool = False  # this is a comeback: start media again with a new offer
    mode: str = "video"  # your own way to talk
    check_in_minutes: int = 0  # staff: remind to check in this often (0: no reminder)
    practice: bool = False  # a practice call, to rehearse: nobody is a real survivor
    e2ee: bool = False  # your own `e2ee` as the server recorded it from your `join`
    e2ee_required: bool = False  # the organization requires end to end (`require_e2ee`)
    dial_in: bool = False  # staff: the server takes phones, so phone audio can be allowed
    phone: bool = False  # phone audio is allowed in this call now


@dataclass(frozen=True)
class Denied(Message):
    """Staff did not admit you."""

    type: ClassVar[str] = "denied"


@dataclass(frozen=True)
class LobbyWaiting(Message):
    """To staff: someone is waiting, with the name they chose to type (may be empty)."""

    type: ClassVar[str] = "lobby-waiting"
    participant: str
    name: str
    role: str
    mode: str = "video"  # the way to talk they chose
    e2ee: bool = False  # their page seals end to end: if not, admitting them ends it for all
    phone: bool = False  # a phone that dialed in (its `name` is its person's, or empty)


@dataclass(frozen=True)
class LobbyLeft(Message):
    """To staff: someone in the lobby went away, was admitted or denied."""

    type: ClassVar[str] = "lobby-left"
    participant: str
    quick: bool = False  # they used the quick exit while waiting


@dataclass(frozen=True)
class Answer(Message):
    """The server's SDP answer."""

    type: ClassVar[str] = "answer"
    sdp: str


@dataclass(frozen=True)
class PhoneCode(Message):
    """To someone other than staff: phone audio is allowed; call `number` and enter `digits`,
    their code (used once: a new one comes when that phone hangs up). Empty digits: not
    allowed (any more)."""

    type: ClassVar[str] = "phone-code"
    number: str = ""
    digits: str = ""


@dataclass(frozen=True)
class PhoneAllowed(Message):
    """To staff in the call: phone audio is allowed now (on), or no longer (off), as one of
    them asked with `phone`."""

    type: ClassVar[str] = "phone-allowed"
    on: bool


@dataclass(frozen=True)
class PhoneVoice(Message):
    """To the person whose code a phone used: that phone carries your voice now (on), so
    your page sends and plays no sound; or it hung up (off), so your page's sound is back."""

    type: ClassVar[str] = "phone-voice"
    on: bool
    phone: str = ""  # the phone's participant id


@dataclass(frozen=True)
class PeerJoined(Message):
    """Someone joined the call."""

    type: ClassVar[str] = "peer-joined"
    peer: PeerInfo


@dataclass(frozen=True)
class PeerLeft(Message):
    """Someone left the call."""

    type: ClassVar[str] = "peer-left"
    participant: str
    dropped: bool = False  # their connection dropped and they did not come back in time
    quick: bool = False  # they used the quick exit: clear the chat, follow the drop plan


@dataclass(frozen=True)
class PeerAway(Message):
    """Someone's connection dropped: they may come back until the grace period ends."""

    type: ClassVar[str] = "peer-away"
    participant: str


@dataclass(frozen=True)
class PeerBack(Message):
    """Someone whose connection dropped is back."""

    type: ClassVar[str] = "peer-back"
    participant: str


@dataclass(frozen=True)
class PeerMuted(Message):
    """Someone's microphone or camera state changed."""

    type: ClassVar[str] = "peer-muted"
    participant: str
    audio: bool
    video: bool


@dataclass(frozen=True)
class VideoPaused(Message):
    """To everyone in the call: video to `participant` is paused (or resumed); audio goes on.

    `reason` is "chosen" (they asked for audio only) or "weak-connection" (their link could
    not take video; the server resumes it when the link recovers).
    """

    type: ClassVar[str] = "video-paused"
    participant: str
    paused: bool
    reason: str = "chosen"


@dataclass(frozen=True)
class SendVideo(Message):
    """To one participant: stop sending video (`on` false), since nobody in the call can
    receive it now (all are on audio only), or send it again."""

    type: ClassVar[str] = "send-video"
    on: bool


@dataclass(frozen=True)
class PeerMode(Message):
    """Someone switched their way to talk."""

    type: ClassVar[str] = "peer-mode"
    participant: str
    mode: str


@dataclass(frozen=True)
class ChatLine(Message):
    """A chat line, to everyone in the call (its sender too); `id` counts up per call."""

    type: ClassVar[str] = "chat"
    participant: str
    name: str
    role: str
    text: str
    id: int


@dataclass(frozen=True)
class E2eeFrom(Message):
    """An end-to-end encryption message from someone in the call (`participant`)."""

    type: ClassVar[str] = "e2ee"
    participant: str
    data: str


@dataclass(frozen=True)
class PeerCantTalk(Message):
    """Someone said they can't talk now (on), or that they are back (off)."""

    type: ClassVar[str] = "peer-cant-talk"
    participant: str
    on: bool


@dataclass(frozen=True)
class CheckInAsk(Message):
    """To everyone but staff: "Is this still comfortable and safe?"."""

    type: ClassVar[str] = "check-in"


@dataclass(frozen=True)
class CheckInReply(Message):
    """To staff: someone's answer to a check-in."""

    type: ClassVar[str] = "check-in-answer"
    participant: str
    answer: str


UNKNOWN = 65535  # a figure the server has not measured (yet)


@dataclass(frozen=True)
class QualityInfo:
    """Someone's connection as the server sees it: `level` "good" or "weak"; loss in tenths
    of a percent of their video, round trip in ms, estimate in kbit/s (UNKNOWN if not
    measured); `audio_only` while they get no video."""

    participant: str
    level: str
    loss_permille: int = UNKNOWN
    rtt_ms: int = UNKNOWN
    kbps: int = UNKNOWN
    audio_only: bool = False


@dataclass(frozen=True)
class Quality(Message):
    """To staff, every few seconds: the connection of each other person in the call, so they
    can suggest audio only, text or the phone early."""

    type: ClassVar[str] = "quality"
    people: list[QualityInfo] = field(default_factory=list)


@dataclass(frozen=True)
class MediaRestart(Message):
    """Your connection's media ended on the server's side (a media process stopped): make a
    new connection and offer again with `restart`. The call and your place in it go on."""

    type: ClassVar[str] = "media-restart"


@dataclass(frozen=True)
class Streams(Message):
    """Which of your receive slots (by transceiver mid) carries whose media; "" = empty."""

    type: ClassVar[str] = "streams"
    slots: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Ended(Message):
    """The call is over: staff ended it or it expired."""

    type: ClassVar[str] = "ended"
    reason: str
    code: str = ""  # why, for pages: see ENDED_CODES in signaling/call.py


@dataclass(frozen=True)
class Error(Message):
    """Your last message was not accepted."""

    type: ClassVar[str] = "error"
    code: str
    reason: str


CLIENT_MESSAGES: dict[str, type[Message]] = {
    cls.type: cls
    for cls in (
        Join,
        Preview,
        Resume,
        Admit,
        Deny,
        Offer,
        Candidate,
        Mute,
        AudioOnly,
        SetMode,
        ChatSend,
        E2eeSend,
        CantTalk,
        CheckIn,
        CheckInAnswer,
        Leave,
        End,
        PhoneAllow,
    )
}
SERVER_MESSAGES: dict[str, type[Message]] = {
    cls.type: cls
    for cls in (
        Plan,
        OutsideHours,
        HoursEnding,
        Waiting,
        Joined,
        Denied,
        LobbyWaiting,
        LobbyLeft,
        Answer,
        PeerJoined,
        PeerLeft,
        PeerAway,
        PeerBack,
        PeerMuted,
        VideoPaused,
        SendVideo,
        PeerMode,
        MediaRestart,
        Quality,
        ChatLine,
        E2eeFrom,
        PeerCantTalk,
        CheckInAsk,
        CheckInReply,
        Streams,
        Ended,
        Error,
        PhoneCode,
        PhoneAllowed,
        PhoneVoice,
    )
}

# Longest accepted text per field name; fields not listed here are not text.
TEXT_LIMITS: dict[str, int] = {
    "call": MAX_ID_CHARS,
    "invite": MAX_TOKEN_CHARS,
    "resume": MAX_TOKEN_CHARS,
    "name": MAX_NAME_CHARS,
    "participant": MAX_ID_CHARS,
    "sdp": MAX_SDP_CHARS,
    "candidate": MAX_CANDIDATE_CHARS,
    "sdp_mid": 16,
    "action": 32,
    "note": MAX_NOTE_CHARS,
    "urls": 256,
    "username": 64,
    "credential": 64,
    "text": MAX_CHAT_CHARS,
    "to": MAX_ID_CHARS,
    "data": MAX_E2EE_CHARS,
    "reason": MAX_REASON_CHARS,
    "mode": 8,
    "answer": 8,
    "opens_at": 32,
    "level": 8,
    "at": 32,
    "number": 32,
    "digits": 8,
    "phone": MAX_ID_CHARS,
    "phone_of": MAX_ID_CHARS,
}
# Fields whose text must be one of a few values.
CHOICES: dict[str, tuple[str, ...]] = {"mode": MODES, "answer": CHECK_IN_ANSWERS}
# The error code of a text over its limit, where a more precise one than bad-field helps.
TOO_LONG_CODES: dict[str, str] = {"text": "chat-too-long"}

T = TypeVar("T")


def parse_client_message(text: str | bytes) -> Message:
    """Parse and validate one message a client sent; raises ProtocolError."""
    return parse_message(text, CLIENT_MESSAGES)


def parse_server_message(text: str | bytes) -> Message:
    """Parse one message the server sent (used by test and bench clients)."""
    return parse_message(text, SERVER_MESSAGES)


def parse_message(text: str | bytes, table: dict[str, type[Message]]) -> Message:
    size = len(text) if isinstance(text, bytes) else len(text.encode(errors="replace"))
    if size > MAX_MESSAGE_BYTES:
        raise ProtocolError("too-large", f"message is over {MAX_MESSAGE_BYTES} bytes")
    try:
        body = json.loads(text)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise ProtocolError("bad-json", "message is not valid JSON") from None
    if not isinstance(body, dict):
        raise ProtocolError("bad-message", "message must be a JSON object")
    kind = body.get("type")
    if not isinstance(kind, str):
        raise ProtocolError("bad-message", "message has no string 'type'")
    cls = table.get(kind)
    if cls is None:
        raise ProtocolError("unknown-type", f"unknown message type {kind[:32]!r}")
    return build(cls, {k: v for k, v in body.items() if k != "type"})


def build(cls: type[T], body: dict[str, Any]) -> T:
    """Build dataclass `cls` from `body`, checking names, types and sizes of every field."""
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type,unused-ignore]
    label = getattr(cls, "type", "") or cls.__name__
    unknown = sorted(set(body) - set(fields))
    if unknown:
        raise ProtocolError("bad-field", f"{label}: unknown field {unknown[0][:32]!r}")
    values: dict[str, Any] = {}
    for name, f in fields.items():
        if name not in body:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise ProtocolError("bad-field", f"{label}: missing field {name!r}")
            continue
        values[name] = _check(cls, name, hints[name], body[name])
    return cls(**values)


def _check(cls: type[Any], name: str, hint: Any, value: Any) -> Any:
    where = f"{getattr(cls, 'type', '') or cls.__name__}.{name}"
    origin = typing.get_origin(hint)
    if hint is bool:
        if not isinstance(value, bool):
            raise ProtocolError("bad-field", f"{where} must be true or false")
        return value
    if hint is int:
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < 2**16:
            raise ProtocolError("bad-field", f"{where} must be a small whole number")
        return value
    if hint is str:
        if not isinstance(value, str):
            raise ProtocolError("bad-field", f"{where} must be a string")
        limit = TEXT_LIMITS.get(name, MAX_ID_CHARS)
        if len(value) > limit:
            code = TOO_LONG_CODES.get(name, "bad-field")
            raise ProtocolError(code, f"{where} is longer than {limit} characters")
        choices = CHOICES.get(name)
        if choices is not None and value not in choices:
            raise ProtocolError("bad-field", f"{where} must be one of {', '.join(choices)}")
        return value
    if origin is list:
        (item,) = typing.get_args(hint)
        if not isinstance(value, list) or len(value) > 64:
            raise ProtocolError("bad-field", f"{where} must be a short list")
        return [_check(cls, name, item, v) for v in value]
    if origin is dict:
        if not isinstance(value, dict) or len(value) > 64:
            raise ProtocolError("bad-field", f"{where} must be a small object")
        return {
            _check(cls, "sdp_mid", str, k): _check(cls, "participant", str, v)
            for k, v in value.items()
        }
    if origin in (Union, types.UnionType):
        raise ProtocolError("bad-field", f"{where} has an unsupported type")
    if dataclasses.is_dataclass(hint) and isinstance(hint, type):
        if not isinstance(value, dict):
            raise ProtocolError("bad-field", f"{where} must be an object")
        return build(hint, value)
    raise ProtocolError("bad-field", f"{where} has an unsupported type")
