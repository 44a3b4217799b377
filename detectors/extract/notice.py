"""Things extraction reports that are not text: encrypted, over a limit, disguised, skipped."""

from __future__ import annotations

from dataclasses import dataclass, field

#: every Notice.kind; the scanner turns the container.* ones into findings
NOTICE_KINDS = frozenset(
    {"container.encrypted", "container.limit_exceeded", "container.disguised", "skipped", "error"}
)


@dataclass(frozen=True)
class Notice:
    kind: str
    path: str  # display path, outer.zip!inner/file
    reason: str
    attributes: dict[str, object] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in NOTICE_KINDS:
            raise ValueError(f"unknown notice kind {self.kind!r}")
