"""Commands a presenter sends to a running experiment; they take effect between training steps."""

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Action = Literal["pause", "resume", "step", "cancel", "pace"]


class ControlCommand(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)  # `true` is not a pace (the fuzzer's ST201)

    action: Action
    steps_per_second: float | None = Field(
        None,
        gt=0,
        le=100_000,
        description="For 'pace': the most steps per second; null lifts the limit. Ignored by other actions.",
    )
