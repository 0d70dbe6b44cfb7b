"""One person in a call or its lobby."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from signaling.protocol import LobbyWaiting, PeerInfo


class Role(enum.StrEnum):
    STAFF = "staff"
    SURVIVOR = "survivor"
    INTERPRETER = "interpreter"


class Place(enum.StrEnum):
    LOBBY = "lobby"
    CALL = "call"


@dataclass
class Participant:
    id: str
    role: Role
    name: str
    place: Place
    audio: bool = True
    video: bool = True
    resume: str = ""  # the secret that lets this person back in after a drop
    away_since: float | None = None  # when their connection dropped, while they may return
    mode: str = "video"  # how they chose to talk: "video", "audio" (only) or "text" (only)
    cant_talk: bool = False  # they said "I can't talk now" and are not back yet
    chat_sent: list[float] = field(default_factory=list)  # when their recent chat lines came
    e2ee_sent: list[float] = field(default_factory=list)  # when their recent e2ee ones came
    weak_link: bool = False  # their link is too weak for video: the server paused it
    sending_video: bool = True  # last told: send video (or stop: nobody can receive it)
    e2ee: bool = False  # their page said at `join` it seals its media end to end
    phone: bool = False  # a phone that dialed in with a code: a voice without a page
    phone_of: str = ""  # a phone's person, while their page is in the call or its lobby
    phone_leg: str = ""  # a person's phone, while it is in the call or its lobby

    @property
    def audio_only(self) -> bool:
        """They chose to receive no video: audio only, or text only."""
        return self.mode != "video"

    @property
    def video_paused(self) -> bool:
        """Whether they receive no video: by choice or for a weak link."""
        return self.audio_only or self.weak_link

    @property
    def pause_reason(self) -> str:
        """Why their video is paused ("chosen" wins), or "" when it is not."""
        return "chosen" if self.audio_only else "weak-connection" if self.weak_link else ""

    def info(self) -> PeerInfo:
        return PeerInfo(
            participant=self.id,
            name=self.name,
            role=self.role.value,
            audio=self.audio,
            video=self.video,
            mode=self.mode,
            cant_talk=self.cant_talk,
            e2ee=self.e2ee,
            phone=self.phone,
            phone_of=self.phone_of,
        )

    def lobby_notice(self) -> LobbyWaiting:
        """What staff see of them while they wait: the name they typed and their way to talk."""
        return LobbyWaiting(
            self.id, self.name, self.role.value, self.mode, self.e2ee, phone=self.phone
        )
