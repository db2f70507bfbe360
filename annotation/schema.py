"""The rating schema of a campaign: which dimensions, which levels, what each level means.

The default is LiFT's (lift-method.md §2): three dimensions rated Good / Normal / Bad, each with a reason.
"""
from copy import deepcopy

RATING_LEVELS = ("Good", "Normal", "Bad")

LIFT_SCHEMA = {
    "dimensions": [
        {
            "key": "semantic",
            "label": "Semantic consistency",
            "question": (
                "Please identify the semantic consistency issues in this video, focusing on the "
                "alignment between the text and the visual content."
            ),
            "levels": [
                {"value": "Good", "criteria": "Matches the text fully."},
                {"value": "Normal", "criteria": "Small mismatches; the meaning is still clear."},
                {
                    "value": "Bad",
                    "criteria": "Largely inconsistent: wrong subject, count, colour, scene, style or action.",
                },
            ],
        },
        {
            "key": "motion",
            "label": "Motion smoothness",
            "question": (
                "Please identify the motion issues in this video, focusing on the continuity and "
                "smoothness of actions."
            ),
            "levels": [
                {"value": "Good", "criteria": "Fluid, natural motion."},
                {"value": "Normal", "criteria": "Slight irregularities or mild jitter."},
                {"value": "Bad", "criteria": "Choppy, erratic, frame drops, physically implausible."},
            ],
        },
        {
            "key": "fidelity",
            "label": "Video fidelity",
            "question": (
                "Please identify the fidelity issues in this video, such as blur, artifacts, deformed limbs."
            ),
            "levels": [
                {"value": "Good", "criteria": "High quality, few artifacts."},
                {"value": "Normal", "criteria": "Some artifacts, blur or colour errors."},
                {"value": "Bad", "criteria": "Severe blur or artifacts; deformed hands, faces or limbs."},
            ],
        },
    ]
}


def default_schema() -> dict:
    return deepcopy(LIFT_SCHEMA)


def dimension_keys(schema: dict) -> list[str]:
    return [dim["key"] for dim in schema["dimensions"]]


def level_values(schema: dict, key: str) -> list[str]:
    for dim in schema["dimensions"]:
        if dim["key"] == key:
            return [level["value"] for level in dim["levels"]]
    raise KeyError(key)


def schema_errors(schema) -> list[str]:
    """Why a schema is unusable (empty when it is fine)."""
    if not isinstance(schema, dict) or not isinstance(schema.get("dimensions"), list) or not schema["dimensions"]:
        return ["schema must be an object with a non-empty 'dimensions' list"]
    errors, seen = [], set()
    for i, dim in enumerate(schema["dimensions"]):
        if not isinstance(dim, dict) or not isinstance(dim.get("key"), str) or not dim["key"]:
            errors.append(f"dimension {i} needs a 'key' string")
            continue
        if dim["key"] in seen:
            errors.append(f"dimension key '{dim['key']}' appears twice")
        seen.add(dim["key"])
        levels = dim.get("levels")
        if not isinstance(levels, list) or len(levels) < 2:
            errors.append(f"dimension '{dim['key']}' needs at least two levels")
        elif not all(isinstance(level, dict) and isinstance(level.get("value"), str) for level in levels):
            errors.append(f"every level of '{dim['key']}' needs a 'value' string")
    return errors


# Pairwise campaigns: per dimension the annotator prefers A, B or neither. In this order A < tie < B, so
# the choices also read as an ordinal scale; stored choices always name A and B of the item.
PAIR_CHOICES = ("A", "tie", "B")
# What the annotator answers: the side they saw, turned into A / B by the lease's shown order.
SHOWN_CHOICES = ("left", "tie", "right")


def pair_choice_from_shown(shown: str, shown_order: str) -> str:
    """'left' / 'right' / 'tie' as seen under shown_order ('AB': A on the left) into 'A' / 'B' / 'tie'."""
    if shown == "tie":
        return "tie"
    return shown_order[0] if shown == "left" else shown_order[1]


def pair_shown_from_choice(choice: str, shown_order: str) -> str:
    """The inverse: 'A' / 'B' / 'tie' into the side it was shown on."""
    if choice == "tie":
        return "tie"
    return "left" if shown_order[0] == choice else "right"
