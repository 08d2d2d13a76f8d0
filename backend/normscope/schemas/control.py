"""Commands a presenter sends to a running experiment; they take effect between training steps."""

from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

Action = Literal["pause", "resume", "step", "cancel", "pace"]


class ControlCommand(BaseModel):
    model_config = ConfigDict(extra="forbid")

    action: Action
    steps_per_second: float | None = Field(
        None, gt=0, le=100_000, description="For 'pace': the most steps per second; null lifts the limit."
    )

    @model_validator(mode="after")
    def _pace_only(self) -> Self:
        if self.steps_per_second is not None and self.action != "pace":
            raise ValueError("steps_per_second goes with action 'pace' only")
        return self
