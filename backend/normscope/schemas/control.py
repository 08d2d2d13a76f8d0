"""Commands a presenter sends to a running experiment; they take effect between training steps."""

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Action = Literal["pause", "resume", "step", "cancel", "pace", "set_lr"]
MAX_LR = 1000.0


class ControlCommand(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)  # `true` is not a pace (the fuzzer's ST201)

    action: Action
    steps_per_second: float | None = Field(
        None,
        gt=0,
        le=100_000,
        description="For 'pace': the most steps per second; null lifts the limit. Ignored by other actions.",
    )
    variant: int | None = Field(
        None, ge=0, le=255, description="For 'set_lr': the variant's index; null sets every running variant."
    )
    lr: float | None = Field(
        None,
        gt=0,
        le=MAX_LR,
        allow_inf_nan=False,
        description="For 'set_lr': the learning rate from the next step on (the panda's knob).",
    )

    @model_validator(mode="after")
    def _lr_for_set_lr(self) -> "ControlCommand":
        if self.action == "set_lr" and self.lr is None:
            raise ValueError("set_lr needs an lr: a positive number up to 1000")
        return self
