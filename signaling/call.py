"""A call: who is in it, who waits in its lobby, and its rules (pure state, time passed in)."""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass, field

from signaling.events import (
    CallGone,
    Departed,
    Entered,
    Event,
    PhoneQuiet,
    Returned,
    Send,
    VideoWanted,
)
from signaling.hours import Hours, Window
from signaling.participant import Participant, Place, Role
from signaling.protocol import (
    MAX_CHAT_CHARS,
    ChatLine,
    CheckInAsk,
    CheckInReply,
    Denied,
    DisruptionPlan,
    E2eeFrom,
    Ended,
    HoursEnding,
    Joined,
    LobbyLeft,
    Message,
    PeerAway,
    PeerBack,
    PeerCantTalk,
    PeerJoined,
    PeerLeft,
    PeerMode,
    PeerMuted,
    PhoneVoice,
    ProtocolError,
    Quality,
    QualityInfo,
    SendVideo,
    VideoPaused,
    Waiting,
)

NODE_LOST = "the server holding the call stopped"  # with many nodes (docs/scaling.md)
# Why a call ended, as `ended` says it: its `reason` (for people) -> its `code` (for pages).
ENDED_CODES = {
    "ended by staff": "ended-by-staff",
    "the call reached its time limit": "expired",
    "the server is restarting": "server-restarting",
    NODE_LOST: "server-lost",
}


@dataclass(frozen=True)
class ChatLimit:
    """At most `lines` chat lines from one person in any `seconds` (`--chat-limit`)."""

    lines: int = 5
    seconds: float = 10.0

    def __str__(self) -> str:
        return f"{self.lines}/{self.seconds:g}s"


# End-to-end encryption messages a person may send in any E2EE_SECONDS: a join or a leave
# takes a few (a public key to everyone, the call key sealed for each of up to 3 others).
E2EE_MESSAGES, E2EE_SECONDS = 40, 10.0
BASE64URL = re.compile(r"[A-Za-z0-9_-]+")


@dataclass
class Call:
    id: str
    owner: str
    created_at: float
    expires_at: float
    max_participants: int
    invites: dict[str, Role]
    participants: dict[str, Participant] = field(default_factory=dict)
    ended: bool = False
    echo: bool = False  # a connection test: one person, their own media looped back
    plan: DisruptionPlan = field(default_factory=DisruptionPlan)
    check_in_minutes: int = 15  # staff are reminded to check in this often (0: never)
    chat_count: int = 0  # chat lines relayed so far: the next line's id (no text is kept)
    practice: bool = False  # a practice run: links open at any time, pages say "practice"
    window: Window | None = None  # the call's own time; None: the organization's hours
    open_anyway: bool = False  # staff opened the links outside the hours
    reminded_of: float | None = None  # the closing time staff were last reminded of
    knocks: list[float] = field(default_factory=list)  # lobby arrivals in the last minute
    chat_limit: ChatLimit = field(default_factory=ChatLimit)
    # The organization requires end to end (`require_e2ee`): the store sets it from its
    # rules at each join, so that `joined` says it as it stands after a reload.
    e2ee_required: bool = False
    phone_allowed: bool = False  # staff allowed phone audio: the others are given codes
    dial_in: bool = False  # the server takes phones (the store sets it, as for e2ee_required)
    # Who was given a code: their role and name, for their phone if their page has gone.
    phone_people: dict[str, tuple[Role, str]] = field(default_factory=dict)

    def opens_at(self, hours: Hours, now: float) -> float | None:
        """None when its links are open now; otherwise when they open (inf: not again)."""
        if self.practice or self.open_anyway:
            return None
        if self.window is not None:
            if self.window.is_open(now):
                return None
            return self.window.start if now < self.window.start else math.inf
        opens = hours.next_opening(now)
        if opens == now:
            return None
        return math.inf if opens is None else opens

    def closes_at(self, hours: Hours, now: float) -> float | None:
        """When the time of its links ends, if it ends (the call itself goes on)."""
        if self.practice or self.echo:
            return None
        if self.window is not None:
            return self.window.end if self.window.is_open(now) else None
        return hours.closes_at(now)

    def hours_ending(self, hours: Hours, now: float, before: float) -> list[Event]:
        """Remind staff in the call, once, when the hours end within `before` seconds."""
        ends = self.closes_at(hours, now)
        if ends is None or ends - now > before or ends == self.reminded_of or not self.staff():
            return []
        self.reminded_of = ends
        return self._to_staff(HoursEnding(iso_time(ends)))

    @property
    def lobby_limit(self) -> int:
        return 2 * self.max_participants

    def in_call(self) -> list[Participant]:
        return [p for p in self.participants.values() if p.place is Place.CALL]

    def in_lobby(self) -> list[Participant]:
        return [p for p in self.participants.values() if p.place is Place.LOBBY]

    def staff(self) -> list[Participant]:
        return [p for p in self.in_call() if p.role is Role.STAFF]

    def is_expired(self, now: float) -> bool:
        return now >= self.expires_at

    # ------------------------------------------------------------ arrivals

    def add_staff(self, participant: Participant) -> list[Event]:
        """A signed-in staff member joins their own call directly."""
        self._check_room()
        participant.place = Place.CALL
        self.participants[participant.id] = participant
        events = self._enter(participant)
        # Anyone already waiting is shown to the staff member who just came in.
        events += [Send(participant.id, p.lobby_notice()) for p in self.in_lobby()]
        return events

    def add_echo(self, participant: Participant) -> list[Event]:
        """The one person of a connection test: straight in, nobody else ever joins."""
        participant.place = Place.CALL
        self.participants[participant.id] = participant
        joined = Joined(
            participant.id,
            participant.role.value,
            2,
            [],
            echo=True,
            e2ee_required=self.e2ee_required,
        )
        return [Send(participant.id, joined), Entered(self.id, participant.id)]

    def add_to_lobby(
        self, participant: Participant, now: float = 0.0, knocks_per_minute: int = 0
    ) -> list[Event]:
        """An invitee arrives and waits for staff; at most `knocks_per_minute` arrivals a
        minute (0: no limit), so a forwarded link cannot flood staff with knocks."""
        if len(self.in_lobby()) >= self.lobby_limit:
            raise ProtocolError("lobby-full", "too many people are waiting for this call")
        if knocks_per_minute:
            self.knocks = [t for t in self.knocks if now - t < 60.0]
            if len(self.knocks) >= knocks_per_minute:
                raise ProtocolError(
                    "lobby-busy", "too many people knocked at this call just now: try in a minute"
                )
            self.knocks.append(now)
        participant.place = Place.LOBBY
        self.participants[participant.id] = participant
        notice = participant.lobby_notice()
        return [Send(participant.id, Waiting(participant.id)), *self._to_staff(notice)]

    # ------------------------------------------------------------ staff actions

    def admit(self, by: str, participant_id: str) -> list[Event]:
        self._require_staff(by)
        guest = self._waiting(participant_id)
        self._check_room()
        guest.place = Place.CALL
        return self._to_staff(LobbyLeft(guest.id)) + self._enter(guest)

    def deny(self, by: str, participant_id: str) -> list[Event]:
        self._require_staff(by)
        guest = self._waiting(participant_id)
        del self.participants[guest.id]
        return [
            Send(guest.id, Denied()),
            *self._to_staff(LobbyLeft(guest.id)),
            Departed(self.id, guest.id),
        ]

    def end(self, by: str | None, reason: str) -> list[Event]:
        """End the call for everyone: `by` is the staff member, or None when it expired."""
        if by is not None:
            self._require_staff(by)
        self.ended = True
        events: list[Event] = []
        for p in list(self.participants.values()):
            ended = Ended(reason, ENDED_CODES.get(reason, ""))
            events += [Send(p.id, ended), Departed(self.id, p.id)]
        self.participants.clear()
        self.invites.clear()
        events.append(CallGone(self.id))
        return events

    # ------------------------------------------------------------ anyone

    def leave(self, participant_id: str, dropped: bool = False, quick: bool = False) -> list[Event]:
        p = self.participants.pop(participant_id, None)
        if p is None:
            return []
        if p.place is Place.LOBBY:
            left = [*self._to_staff(LobbyLeft(p.id, quick)), Departed(self.id, p.id)]
            return left + self._phone_follows(p, dropped)
        if self.echo:
            self.ended = True
            return [Departed(self.id, p.id), CallGone(self.id)]
        return [
            *self._to_others(p.id, PeerLeft(p.id, dropped, quick)),
            Departed(self.id, p.id),
            *self._video_requests(),
            *self._phone_follows(p, dropped),
        ]

    def _phone_follows(self, p: Participant, dropped: bool) -> list[Event]:
        """What someone leaving means for a phone: a phone that hangs up gives its person's
        page its sound back; a person who leaves (not dropped) takes their phone with them,
        while a dropped page leaves its phone in the call, on its own."""
        if p.phone:
            owner = self.participants.get(p.phone_of)
            if owner is None:
                return []
            owner.phone_leg = ""
            return [Send(owner.id, PhoneVoice(False, p.id))] if owner.place is Place.CALL else []
        leg = self.participants.get(p.phone_leg)
        if leg is None:
            return []
        if dropped:
            leg.phone_of = ""
            return []
        return self.leave(leg.id)

    def drop(self, participant_id: str, now: float) -> list[Event]:
        """Their connection went away without `leave`.

        Someone in the call keeps their place until they return (`back`) or the grace period
        ends (`away_too_long`); the others are told. Anyone else simply leaves.
        """
        p = self.participants.get(participant_id)
        if p is None or p.place is not Place.CALL or self.echo:
            return self.leave(participant_id)
        if p.away_since is None:
            p.away_since = now
        return self._to_others(p.id, PeerAway(p.id))

    def back(self, participant_id: str, resume: str) -> list[Event]:
        """They are back on a new connection (with a new resume secret): media starts anew."""
        p = self._member(participant_id)
        p.away_since = None
        p.resume = resume
        joined = self._joined(p, resumed=True)
        waiting = [Send(p.id, w.lobby_notice()) for w in self.in_lobby() if p.role is Role.STAFF]
        return [
            Send(p.id, joined),
            *waiting,
            *self._paused_for(p.id),
            Returned(self.id, p.id),
            *self._to_others(p.id, PeerBack(p.id)),
            *self.weak_link(p.id, False),  # a new connection is judged afresh
            *self._voice_of(p),
        ]

    def media_presence(self, participant_id: str, away: bool) -> list[Event]:
        """Their media stopped arriving (away) or came back: the others are told.

        Nothing is said for someone whose socket has dropped already (they were told then),
        or who is not in the call.
        """
        p = self.participants.get(participant_id)
        if p is None or p.place is not Place.CALL or p.away_since is not None:
            return []
        return self._to_others(p.id, PeerAway(p.id) if away else PeerBack(p.id))

    def away_too_long(self, now: float, grace: float) -> list[Event]:
        """Everyone whose connection has been gone for more than `grace` seconds leaves."""
        events: list[Event] = []
        for p in list(self.participants.values()):
            if p.away_since is not None and now - p.away_since >= grace:
                events += self.leave(p.id, dropped=True)
        return events

    def set_mute(self, participant_id: str, audio: bool, video: bool) -> list[Event]:
        p = self._member(participant_id)
        p.audio, p.video = audio, video
        return self._to_others(p.id, PeerMuted(p.id, audio, video))

    def set_audio_only(self, participant_id: str, on: bool) -> list[Event]:
        """They choose audio only (or video again): everyone in the call is told."""
        p = self._member(participant_id)
        if p.audio_only == on:
            return []
        return self.set_mode(p.id, "audio" if on else "video")

    def set_mode(self, participant_id: str, mode: str) -> list[Event]:
        """They switch their way to talk: the others are told; audio and text only receive no
        video (everyone is told that their video is paused, by choice)."""
        p = self._member(participant_id)
        if p.mode == mode:
            return []
        was_audio_only = p.audio_only
        p.mode = mode
        events: list[Event] = [*self._to_others(p.id, PeerMode(p.id, mode))]
        if p.audio_only != was_audio_only:
            # Video again while their link is still too weak: it stays paused, for the link.
            events += [VideoWanted(self.id, p.id, not p.audio_only)]
            events += self._video_changed(p, "chosen")
        return events

    def chat(self, participant_id: str, text: str, now: float) -> list[Event]:
        """Relay a chat line to everyone in the call now (its sender too). Nothing is kept:
        not the text, not who said what; only a count for the line's id."""
        p = self._member(participant_id)
        text = clean_chat(text)
        if not text:
            raise ProtocolError("chat-empty", "the message is empty")
        if len(text) > MAX_CHAT_CHARS:
            raise ProtocolError(
                "chat-too-long", f"a message holds at most {MAX_CHAT_CHARS} characters"
            )
        limit = self.chat_limit
        p.chat_sent = [t for t in p.chat_sent if now - t < limit.seconds]
        if len(p.chat_sent) >= limit.lines:
            raise ProtocolError(
                "chat-rate",
                f"at most {limit.lines} messages in {limit.seconds:g} seconds: wait a little",
            )
        p.chat_sent.append(now)
        self.chat_count += 1
        line = ChatLine(p.id, p.name, p.role.value, text, self.chat_count)
        return [Send(o.id, line) for o in self.in_call()]

    def e2ee(self, participant_id: str, to: str, data: str, now: float) -> list[Event]:
        """Relay an end-to-end encryption message to one person in the call (`to`), or to
        everyone else in it (`to` empty). The server cannot read it, and keeps nothing of it:
        only when each person's recent ones came, to hold them to a rate."""
        p = self._member(participant_id)
        if not BASE64URL.fullmatch(data):
            raise ProtocolError("bad-field", "e2ee.data must be base64url, and not empty")
        p.e2ee_sent = [t for t in p.e2ee_sent if now - t < E2EE_SECONDS]
        if len(p.e2ee_sent) >= E2EE_MESSAGES:
            raise ProtocolError(
                "e2ee-rate",
                f"at most {E2EE_MESSAGES} e2ee messages in {E2EE_SECONDS:g} seconds",
            )
        message = E2eeFrom(p.id, data)
        if not to:
            p.e2ee_sent.append(now)
            return self._to_others(p.id, message)
        reader = self.participants.get(to)
        if reader is None or reader.place is not Place.CALL or reader.id == p.id:
            raise ProtocolError("not-in-call", "nobody else with that id is in the call")
        p.e2ee_sent.append(now)
        return [Send(reader.id, message)]

    def cant_talk(self, participant_id: str, on: bool) -> list[Event]:
        """They can't talk now (or are back): the others are told at once."""
        p = self._member(participant_id)
        if p.role is Role.STAFF:
            raise ProtocolError("forbidden", "staff pause the call with mute and camera instead")
        if p.cant_talk == on:
            return []
        p.cant_talk = on
        # Their phone, if any, must not play the call in their room, nor carry its sound.
        quiet = [PhoneQuiet(self.id, p.phone_leg, on)] if p.phone_leg else []
        return [*self._to_others(p.id, PeerCantTalk(p.id, on)), *quiet]

    def check_in(self, by: str) -> list[Event]:
        """Staff ask everyone else in the call whether it is still comfortable and safe."""
        self._require_staff(by)
        guests = [p for p in self.in_call() if p.role is not Role.STAFF]
        if not guests:
            raise ProtocolError("nobody-to-ask", "nobody but staff is in the call")
        return [Send(p.id, CheckInAsk()) for p in guests]

    def answer_check_in(self, participant_id: str, answer: str) -> list[Event]:
        """Someone answers a check-in: staff hear it at once."""
        p = self._member(participant_id)
        if p.role is Role.STAFF:
            raise ProtocolError("forbidden", "staff ask, the others answer")
        return self._to_staff(CheckInReply(p.id, answer))

    def weak_link(self, participant_id: str, weak: bool) -> list[Event]:
        """The media found their link too weak for video (or recovered): it paused (or
        resumed) video to them. Everyone is told, unless they chose audio only anyway."""
        p = self.participants.get(participant_id)
        if p is None or p.place is not Place.CALL or p.weak_link == weak:
            return []
        p.weak_link = weak
        return [] if p.audio_only else self._video_changed(p, "weak-connection")

    def quality_report(self, seen: dict[str, QualityInfo]) -> list[Event]:
        """Staff in the call hear how everyone else's connection looks to the server."""
        events: list[Event] = []
        for staff in self.staff():
            people = [seen[p.id] for p in self.in_call() if p.id != staff.id and p.id in seen]
            if people:
                events.append(Send(staff.id, Quality(people)))
        return events

    def require_member(self, participant_id: str) -> Participant:
        return self._member(participant_id)

    # ------------------------------------------------------------ phones

    def code_holders(self) -> list[Participant]:
        """Who holds a code while phone audio is allowed: everyone here but staff and the
        phones, whose phone is not here already."""
        return [
            p
            for p in self.participants.values()
            if p.role is not Role.STAFF and not p.phone and not p.phone_leg
        ]

    def allow_phone(self, by: str, on: bool) -> list[Participant]:
        """Staff allow phone audio (or no longer): who is to be given a code (or told theirs
        is gone). Phones already here stay."""
        self._require_staff(by)
        if self.phone_allowed == on:
            return []
        self.phone_allowed = on
        return self.code_holders()

    def phone_arrives(self, leg_id: str, holder_id: str, now: float) -> list[Event]:
        """A phone entered the code of `holder_id`: it is their voice. It joins the call at
        once if their page is in it; otherwise it waits in the lobby like anyone (shown as
        theirs while their page is here, or as a phone caller with no name)."""
        owner = self.participants.get(holder_id)
        if owner is not None and owner.phone_leg:
            raise ProtocolError("phone-taken", "a phone is already this person's voice")
        role, name = self.phone_people.get(holder_id, (Role.SURVIVOR, ""))
        leg = Participant(
            leg_id,
            role,
            name if owner is not None else "",
            Place.LOBBY,
            video=False,
            mode="audio",
            phone=True,
            phone_of=holder_id if owner is not None else "",
        )
        if owner is not None and owner.place is Place.CALL:
            self._check_room()
            leg.place = Place.CALL
            self.participants[leg.id] = leg
            owner.phone_leg = leg.id
            return self._enter(leg)
        events = self.add_to_lobby(leg, now)
        if owner is not None:
            owner.phone_leg = leg.id
        return [e for e in events if not (isinstance(e, Send) and e.to == leg.id)]

    def _voice_of(self, p: Participant) -> list[Event]:
        """Someone entering the call whose phone is in it, or a phone whose person is: that
        person's page is told the phone carries their voice."""
        owner = self.participants.get(p.phone_of) if p.phone else p
        if owner is None:
            return []
        leg = self.participants.get(owner.phone_leg)
        if leg is None or owner.place is not Place.CALL or leg.place is not Place.CALL:
            return []
        return [Send(owner.id, PhoneVoice(True, leg.id))]

    # ------------------------------------------------------------ helpers

    def _enter(self, p: Participant) -> list[Event]:
        joined = self._joined(p, resumed=False)
        chosen = self._video_changed(p, "chosen") if p.audio_only else self._video_requests()
        return [
            Send(p.id, joined),
            *self._paused_for(p.id),
            *self._to_others(p.id, PeerJoined(p.info())),
            Entered(self.id, p.id),
            *chosen,
            *self._voice_of(p),
        ]

    def _joined(self, p: Participant, resumed: bool) -> Joined:
        """What someone entering (or coming back to) the call is told."""
        return Joined(
            p.id,
            p.role.value,
            self.max_participants,
            [o.info() for o in self.in_call() if o.id != p.id],
            plan=self.plan,
            resume=p.resume,
            resumed=resumed,
            mode=p.mode,
            check_in_minutes=self.check_in_minutes if p.role is Role.STAFF else 0,
            practice=self.practice,
            e2ee=p.e2ee,
            e2ee_required=self.e2ee_required,
            dial_in=self.dial_in and p.role is Role.STAFF,
            phone=self.phone_allowed,
        )

    def _check_room(self) -> None:
        if len(self.in_call()) >= self.max_participants:
            raise ProtocolError(
                "call-full", f"this call already has {self.max_participants} participants"
            )

    def _require_staff(self, participant_id: str) -> None:
        p = self.participants.get(participant_id)
        if p is None or p.role is not Role.STAFF or p.place is not Place.CALL:
            raise ProtocolError("forbidden", "only staff in the call can do this")

    def _waiting(self, participant_id: str) -> Participant:
        p = self.participants.get(participant_id)
        if p is None or p.place is not Place.LOBBY:
            raise ProtocolError("not-waiting", "nobody with that id is waiting in the lobby")
        return p

    def _member(self, participant_id: str) -> Participant:
        p = self.participants.get(participant_id)
        if p is None or p.place is not Place.CALL:
            raise ProtocolError("not-in-call", "you are not in the call yet")
        return p

    def _paused_for(self, participant_id: str) -> list[Event]:
        """Tell someone (new, or back) whose video is paused already."""
        return [
            Send(participant_id, VideoPaused(o.id, True, o.pause_reason))
            for o in self.in_call()
            if o.id != participant_id and o.video_paused
        ]

    def _video_changed(self, p: Participant, reason: str) -> list[Event]:
        """Whether `p`'s video is paused may have changed (for `reason`): everyone is told,
        and senders nobody can watch any more (or again) are asked to stop (or send)."""
        notice = VideoPaused(p.id, p.video_paused, p.pause_reason or reason)
        return [Send(o.id, notice) for o in self.in_call()] + self._video_requests()

    def _video_requests(self) -> list[Event]:
        """Ask senders to stop their video while nobody can receive it, or to send again.

        Someone with nobody else in the call keeps sending (a viewer may come).
        """
        events: list[Event] = []
        people = self.in_call()
        for sender in people:
            viewers = [v for v in people if v.id != sender.id]
            wanted = not viewers or any(not v.video_paused for v in viewers)
            if wanted != sender.sending_video:
                sender.sending_video = wanted
                events.append(Send(sender.id, SendVideo(wanted)))
        return events

    def _to_staff(self, message: Message) -> list[Event]:
        return [Send(s.id, message) for s in self.staff()]

    def _to_others(self, participant_id: str, message: Message) -> list[Event]:
        return [Send(p.id, message) for p in self.in_call() if p.id != participant_id]


def clean_chat(text: str) -> str:
    """A chat line as typed, trimmed, with control characters gone (line breaks kept)."""
    kept = "".join(
        ch if ch.isprintable() or ch == "\n" else " " if ch.isspace() else "" for ch in text
    )
    return "\n".join(line.rstrip() for line in kept.strip().splitlines())


def iso_time(moment: float) -> str:
    """A moment as ISO 8601 in UTC, as pages read it ('' for never)."""
    if math.isinf(moment):
        return ""
    return dt.datetime.fromtimestamp(round(moment), dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
