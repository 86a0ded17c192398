# Copyright: Contributors to the Ansible project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Checks of a playbook's settings against the roles' argument specs, for the settings check
(tasks/settings.yml) that deploy, monitor and teardown run first.

They run as a playbook's first task, before a role's argument-spec validation (whose messages
name Python classes) and before any AWS call, so a bad value or a misspelt name stops the run
in a second with a sentence naming the variable, its value and the rule.

- ``docs | settings_options``: the options of every entry point of parsed
  ``meta/argument_specs.yml`` files, merged into one mapping of name to option spec.
- ``values | settings_problems(options, switches)``: why values do not fit their option's type
  and choices. ``switches`` maps a playbook's short switches (``confirm``) to the option they set.
- ``values | settings_valid(options, switches)``: the values that fit, converted to their type
  (``"30"`` to 30, ``"yes"`` to true), for the role's own rules.
- ``names | settings_unknown(options, switches)``: variables that look like misspelt settings:
  role-prefixed names no spec declares, and other names close to a switch.
"""

from __future__ import annotations

import difflib
import json
import math
import re

PREFIXES = ("deployment_", "webserver_", "monitoring_", "interactive_")
# Role-prefixed names that are not settings: the parameter by which a playbook names its switches.
# (Facts the roles compute and hand on start with an underscore: _deployment_instance.)
COMPUTED = frozenset({"deployment_settings_switches"})
# The values Ansible itself reads as booleans (ansible.module_utils.parsing.convert_bool).
TRUE = frozenset({"y", "yes", "on", "1", "true", "t"})
FALSE = frozenset({"n", "no", "off", "0", "false", "f"})
INTEGER = re.compile(r"^[+-]?[0-9]+$")
# How alike (difflib's ratio) a name must be to a switch, or to a setting without the prefixes,
# to be named as its likely misspelling.
CLOSE = 0.8
MAYBE = 0.7


def shown(value) -> str:
    """A value as the user would type it: JSON, non-ASCII characters kept as they are."""
    try:
        return json.dumps(value, ensure_ascii=False, default=str)
    except ValueError:
        return repr(value)


def settings_options(docs) -> dict:
    """Every option of every entry point of the given argument-spec documents."""
    options = {}
    for doc in docs:
        for entry in (doc or {}).get("argument_specs", {}).values():
            for name, spec in (entry.get("options") or {}).items():
                options.setdefault(name, spec)
    return options


def _convert(value, spec: dict):
    """(converted value, '') when `value` fits the option, else (None, why not)."""
    kind = spec.get("type", "str")
    if value is None:
        return None, "it has no value (null); give one, or leave the variable out to get the default"
    if kind == "bool":
        if isinstance(value, bool):
            return value, ""
        word = str(value).strip().lower() if isinstance(value, (str, int)) else None
        if word in TRUE or word in FALSE:
            return word in TRUE, ""
        return None, "it must be true or false"
    if kind == "int":
        if isinstance(value, int) and not isinstance(value, bool):
            return value, ""
        if isinstance(value, float) and value.is_integer():
            return int(value), ""
        if isinstance(value, str) and INTEGER.match(value.strip()):
            return int(value.strip()), ""
        return None, "it must be a whole number"
    if kind == "float":
        # A whole number stays one, so messages show 101 as the user typed it, not 101.0.
        if isinstance(value, int) and not isinstance(value, bool):
            return value, ""
        if isinstance(value, str) and INTEGER.match(value.strip()):
            return int(value.strip()), ""
        if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
            return float(value), ""
        if isinstance(value, str):
            try:
                number = float(value.strip())
            except ValueError:
                number = math.nan
            if math.isfinite(number):
                return number, ""
        return None, "it must be a number"
    if kind == "list":
        if not isinstance(value, list):
            return None, 'it must be a list; give it as JSON, e.g. -e \'{"NAME": ["a", "b"]}\''
        return value, ""
    if kind == "dict":
        if not isinstance(value, dict):
            return None, 'it must be a mapping; give it as JSON, e.g. -e \'{"NAME": {"key": "value"}}\''
        return value, ""
    if isinstance(value, (list, dict)):
        return None, "it must be a single value, not a list or a mapping"
    if isinstance(value, bool):
        return None, "it must be text, not true or false; put it in quotes"
    return str(value), ""


def _choices_problem(value, spec: dict) -> str:
    choices = spec.get("choices")
    if not choices:
        return ""
    items = value if isinstance(value, list) else [value]
    wrong = [item for item in items if item not in choices]
    if not wrong:
        return ""
    return f"{shown(wrong[0])} is not one of {', '.join(map(str, choices))}"


def _option(name: str, options: dict, switches: dict) -> tuple[str, dict | None]:
    """The option a variable sets, and how to name it in a message."""
    if name in options:
        return name, options[name]
    if name in (switches or {}):
        return name, options.get(switches[name], {"type": "bool"})
    return name, None


def _checked(values: dict, options: dict, switches: dict):
    values = values or {}
    # An option a set switch gives its value to is checked as that switch, once.
    shadowed = {option for switch, option in switches.items() if switch in values}
    for name, value in values.items():
        label, spec = _option(name, options, switches)
        if spec is None or name in shadowed:
            continue
        converted, problem = _convert(value, spec)
        if not problem:
            problem = _choices_problem(converted, spec)
        yield label, value, converted, problem.replace("NAME", label)


def settings_problems(values: dict, options: dict, switches: dict | None = None) -> list[str]:
    """One sentence per value that does not fit its option's type or choices (no_log values hidden)."""
    return [
        f"{name}={'(hidden)' if (options.get(name) or {}).get('no_log') else shown(value)} is not valid: {problem}."
        for name, value, _converted, problem in _checked(values, options, switches or {})
        if problem
    ]


def settings_valid(values: dict, options: dict, switches: dict | None = None) -> dict:
    """The values that fit their option, converted to its type."""
    return {
        name: converted for name, _value, converted, problem in _checked(values, options, switches or {}) if not problem
    }


def _bare(name: str) -> str:
    """A name without its role prefix: the part a typo is in."""
    return next((name[len(prefix) :] for prefix in PREFIXES if name.startswith(prefix)), name)


def _closest(name: str, options) -> str:
    """The setting `name` most likely misspells ('' when none is close), compared without the
    role prefixes, which would make every pair of names look alike (and may be the misspelt part)."""
    bare = {}
    for option in sorted(options):
        bare.setdefault(_bare(option), option)
    close = difflib.get_close_matches(_bare(name), list(bare), n=1, cutoff=MAYBE)
    return bare[close[0]] if close else ""


def settings_unknown(names, options: dict, switches: dict | None = None) -> list[str]:
    """One sentence per variable that looks like a misspelt setting or switch."""
    switches = switches or {}
    known = set(options) | set(switches) | COMPUTED
    problems = []
    for name in sorted(set(names or [])):
        if name in known or name.startswith(("ansible_", "_")):
            continue
        if name.startswith(PREFIXES):
            close = _closest(name, options)
            hint = f"did you mean {close}?" if close else "the README's settings tables list every setting."
            problems.append(f"{name} is not a setting of this project: {hint}")
            continue
        close = difflib.get_close_matches(name, sorted(switches), n=1, cutoff=CLOSE)
        if close:
            problems.append(f"{name} is not a switch of this playbook: did you mean {close[0]}?")
    return problems


class FilterModule:
    """The settings checks shared by the playbooks."""

    def filters(self):
        return {
            "settings_options": settings_options,
            "settings_problems": settings_problems,
            "settings_valid": settings_valid,
            "settings_unknown": settings_unknown,
        }
