"""Where a media process listens, as the signaling process tells its workers (light: no
aiortc or aioice here)."""

from __future__ import annotations

import dataclasses
import json


@dataclasses.dataclass(frozen=True)
class PortPlan:
    """Where a media process listens: on each address (none: every interface's), one UDP
    port and one ICE-TCP port (None: no ICE over TCP). Port 0 picks a free one."""

    addresses: tuple[str, ...] = ()
    udp: int = 0
    tcp: int | None = 0

    def worker(self, index: int) -> PortPlan:
        """Worker `index`'s ports: these plus `index` (a free one stays free)."""
        return PortPlan(
            self.addresses,
            self.udp + index if self.udp else 0,
            self.tcp + index if self.tcp else self.tcp,
        )

    def encode(self) -> str:
        return json.dumps([list(self.addresses), self.udp, self.tcp])

    @classmethod
    def decode(cls, text: str) -> PortPlan:
        addresses, udp, tcp = json.loads(text)
        return cls(tuple(str(a) for a in addresses), int(udp), None if tcp is None else int(tcp))
