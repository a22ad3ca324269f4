"""The staff roster: who works the helpline and who is on call, in alert order."""

from __future__ import annotations

import json
from dataclasses import dataclass


@dataclass(frozen=True)
class StaffMember:
    name: str
    phone: str  # E.164
    on_call: bool = False

    def to_json(self) -> str:
        return json.dumps({"v": 1, "name": self.name, "phone": self.phone})

    @classmethod
    def from_json(cls, raw: str | bytes, on_call: bool) -> StaffMember:
        data = json.loads(raw)
        return cls(name=data["name"], phone=data["phone"], on_call=on_call)
