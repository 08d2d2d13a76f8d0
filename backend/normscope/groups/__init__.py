"""An experiment's variants split into groups that each train in lockstep, on a Ray cluster: merge.py joins
the groups' frames into one per step, member.py is what one Ray actor runs, ray_driver.py starts and steers
them. Nothing here imports torch or Ray until a group is trained."""


def split(variants: int, per_group: int) -> list[list[int]]:
    """Consecutive variant indices, per_group at a time: [[0..k-1], [k..2k-1], ...]."""
    return [list(range(i, min(i + per_group, variants))) for i in range(0, variants, per_group)]


def describe(group: list[int]) -> str:
    """How an error names a group: by its variants."""
    return f"variant {group[0]}" if len(group) == 1 else f"variants {group[0]}–{group[-1]}"
