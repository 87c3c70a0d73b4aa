from enum import StrEnum


class ChecksAdditionalProperty(StrEnum):
    BEHIND = "behind"
    DOWN = "down"
    OK = "ok"
    SKIPPED = "skipped"

    def __str__(self) -> str:
        return str(self.value)
