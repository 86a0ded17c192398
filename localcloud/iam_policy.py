"""IAM's policy evaluation for identity-based policies, as AWS documents it ("Policy evaluation
logic" and "IAM JSON policy elements: Condition operators" in the IAM User Guide).

One request is authorised as a list of checks (iam_requests.py builds them): an action, a
resource ARN and the request context that applies to that resource. Each check is decided alone:

- an explicit Deny in any statement that applies wins;
- otherwise an Allow that applies allows;
- otherwise the check is denied implicitly.

A statement applies when its Action (or NotAction) names the action (case-insensitive, with `*` and
`?`), its Resource (or NotResource) matches the ARN (case-sensitive, `*` and `?`, policy variables
such as `${aws:username}` filled from the context), and every condition holds: every operator,
every key of an operator (AND), any value of a key (OR).

Conditions: the String*, Arn*, Numeric*, Date*, Bool, IpAddress/NotIpAddress and Null operators;
the `...IfExists` suffix (a missing key holds); the `ForAnyValue:` and `ForAllValues:` set
qualifiers (ForAllValues holds for a missing or empty key). A missing key fails a positive operator
and holds for a negated one (StringNotEquals, ArnNotLike...), as the IAM User Guide says. Key names
are case-insensitive, values case-sensitive (except ...IgnoreCase). An operator IAM does not know
raises ValueError: IAM would have refused the policy when it was attached.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
from dataclasses import dataclass, field
from enum import Enum
from typing import Any


class Decision(Enum):
    ALLOW = "allow"
    EXPLICIT_DENY = "explicit deny"
    IMPLICIT_DENY = "implicit deny"


@dataclass(frozen=True)
class Check:
    """One authorisation AWS makes for a request: `action` on `resource` with `context` (condition
    key, lower-cased, to a string or a list of strings)."""

    action: str
    resource: str
    context: dict[str, Any] = field(default_factory=dict)
    # Why this check is made, for the denial's message ("tags given at creation", "dependent action").
    reason: str = ""


@dataclass(frozen=True)
class Outcome:
    decision: Decision
    statement: str = ""  # the Sid (or index) of the statement that decided


def iam_match(pattern: str, value: str, ignore_case: bool = False) -> bool:
    """IAM's wildcards: * any run of characters, ? one character, everything else literal."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, re.S | (re.I if ignore_case else 0)) is not None


def _as_list(value: Any) -> list:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple, set, frozenset)) else [value]


_VARIABLE = re.compile(r"\$\{([^}]+)\}")
_ESCAPES = {"*": "*", "?": "?", "$": "$"}


def substitute(text: str, context: dict[str, Any]) -> str | None:
    """`text` with its policy variables (${aws:username}, ${aws:PrincipalTag/team}...) filled in from
    the context; None when one is missing or multivalued (IAM then finds no match)."""
    missing = False

    def fill(match: re.Match[str]) -> str:
        nonlocal missing
        name = match.group(1)
        if name in _ESCAPES:
            return _ESCAPES[name]
        name, _, default = name.partition(", '")
        value = context.get(name.strip().lower())
        if isinstance(value, str):
            return value
        if default.endswith("'"):
            return default[:-1]
        missing = True
        return ""

    filled = _VARIABLE.sub(fill, text)
    return None if missing else filled


def _date(value: str) -> dt.datetime:
    if re.fullmatch(r"\d+", value):
        return dt.datetime.fromtimestamp(int(value), dt.UTC)
    parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _ip(context: str, policy: str) -> bool:
    try:
        return ipaddress.ip_address(context) in ipaddress.ip_network(policy, strict=False)
    except ValueError:
        return False


# Positive operators: (context value, policy value) -> bool. The negated ones are their opposites.
_POSITIVE = {
    "stringequals": lambda c, p: c == p,
    "stringequalsignorecase": lambda c, p: c.lower() == p.lower(),
    "stringlike": lambda c, p: iam_match(p, c),
    "arnequals": lambda c, p: iam_match(p, c),
    "arnlike": lambda c, p: iam_match(p, c),
    "numericequals": lambda c, p: float(c) == float(p),
    "numericlessthan": lambda c, p: float(c) < float(p),
    "numericlessthanequals": lambda c, p: float(c) <= float(p),
    "numericgreaterthan": lambda c, p: float(c) > float(p),
    "numericgreaterthanequals": lambda c, p: float(c) >= float(p),
    "dateequals": lambda c, p: _date(c) == _date(p),
    "datelessthan": lambda c, p: _date(c) < _date(p),
    "datelessthanequals": lambda c, p: _date(c) <= _date(p),
    "dategreaterthan": lambda c, p: _date(c) > _date(p),
    "dategreaterthanequals": lambda c, p: _date(c) >= _date(p),
    "bool": lambda c, p: str(c).lower() == str(p).lower(),
    "ipaddress": _ip,
    "binaryequals": lambda c, p: c == p,
}
_NEGATED = {
    "stringnotequals": "stringequals",
    "stringnotequalsignorecase": "stringequalsignorecase",
    "stringnotlike": "stringlike",
    "arnnotequals": "arnequals",
    "arnnotlike": "arnlike",
    "numericnotequals": "numericequals",
    "datenotequals": "dateequals",
    "notipaddress": "ipaddress",
}
# Operators whose policy values may hold policy variables (IAM fills them in String* and Arn*).
_WITH_VARIABLES = ("string", "arn")


def condition_holds(operator: str, key: str, policy_values: Any, context: dict[str, Any]) -> bool:
    """Whether one key of one condition operator holds for the request context."""
    name = operator.lower()
    qualifier = ""
    if ":" in name:
        qualifier, name = name.split(":", 1)
        if qualifier not in ("foranyvalue", "forallvalues"):
            raise ValueError(f"unknown condition set operator {operator!r}")
    if_exists = name.endswith("ifexists") and name != "ifexists"
    if if_exists:
        name = name[: -len("ifexists")]
    present = key.lower() in context
    values = _as_list(context.get(key.lower()))
    wanted = [str(v).lower() if isinstance(v, bool) else str(v) for v in _as_list(policy_values)]

    if name == "null":
        return all((not present) == (w.lower() == "true") for w in wanted)
    negated = name in _NEGATED
    base = _NEGATED.get(name, name)
    if base not in _POSITIVE:
        raise ValueError(f"unknown condition operator {operator!r}")
    if name.startswith(_WITH_VARIABLES):
        wanted = [w2 for w2 in (substitute(w, context) for w in wanted) if w2 is not None]
    compare = _POSITIVE[base]

    def matches(value: str) -> bool:
        try:
            return any(compare(str(value), w) for w in wanted)
        except (TypeError, ValueError):
            return False

    if not present:
        if if_exists:
            return True
        if qualifier == "forallvalues":
            return True
        return negated and qualifier != "foranyvalue"
    if qualifier == "forallvalues":
        # Every value of the request matches one of the policy's (or, negated, none of them).
        return all((not matches(v)) if negated else matches(v) for v in values)
    if qualifier == "foranyvalue":
        return any((not matches(v)) if negated else matches(v) for v in values)
    # A single-valued operator: the request's value (any of them, for a multivalued key).
    hit = any(matches(v) for v in values)
    return not hit if negated else hit


def statement_applies(statement: dict, check: Check) -> bool:
    if "NotAction" in statement:
        if any(iam_match(p, check.action, ignore_case=True) for p in _as_list(statement["NotAction"])):
            return False
    elif not any(iam_match(p, check.action, ignore_case=True) for p in _as_list(statement.get("Action"))):
        return False
    if "NotResource" in statement:
        patterns, wanted = statement["NotResource"], False
    else:
        patterns, wanted = statement.get("Resource", []), True
    hit = False
    for pattern in _as_list(patterns):
        filled = substitute(pattern, check.context)
        if filled is not None and iam_match(filled, check.resource):
            hit = True
            break
    if hit != wanted:
        return False
    for operator, keys in (statement.get("Condition") or {}).items():
        for key, values in keys.items():
            if not condition_holds(operator, key, values, check.context):
                return False
    return True


def evaluate(policies: list[dict], check: Check) -> Outcome:
    """The decision of identity-based `policies` (parsed documents) for one check."""
    allowed = ""
    for policy in policies:
        statements = policy.get("Statement", [])
        for number, statement in enumerate(statements if isinstance(statements, list) else [statements]):
            if not statement_applies(statement, check):
                continue
            sid = statement.get("Sid") or f"statement {number + 1}"
            if statement.get("Effect") == "Deny":
                return Outcome(Decision.EXPLICIT_DENY, sid)
            if statement.get("Effect") == "Allow" and not allowed:
                allowed = sid
    return Outcome(Decision.ALLOW, allowed) if allowed else Outcome(Decision.IMPLICIT_DENY)
