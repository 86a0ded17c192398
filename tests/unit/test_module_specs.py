"""Every module's DOCUMENTATION options say what its argument_spec does: the same names, types,
defaults, choices, elements and required flags, suboptions included (amazon.aws's validate-modules
is the model). The spec is taken from the module as it runs: its AnsibleModule or AnsibleAWSModule
is stopped at construction."""

from __future__ import annotations

import ast
import runpy
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
MODULES = sorted((REPO / "library").glob("*.py"))
COMPARED = ("type", "required", "default", "choices", "elements")
DEFAULTS = {"type": "str", "required": False, "default": None, "choices": None, "elements": None}


class ConstructedError(Exception):
    """Raised in place of the module object: the spec is all the test needs."""


def documentation(path: Path) -> dict:
    tree = ast.parse(path.read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "DOCUMENTATION":
            return yaml.safe_load(node.value.value)
    raise AssertionError(f"{path.name} has no DOCUMENTATION")


def argument_spec(path: Path, monkeypatch) -> dict:
    import ansible.module_utils.basic  # the project's module_utils are on its path (conftest)
    from ansible_collections.amazon.aws.plugins.module_utils import modules

    captured: dict = {}

    def construct(_self, *args, **kwargs):
        captured.update(kwargs.get("argument_spec") or (args[0] if args else {}))
        raise ConstructedError

    monkeypatch.setattr(ansible.module_utils.basic.AnsibleModule, "__init__", construct)
    monkeypatch.setattr(modules.AnsibleAWSModule, "__init__", construct)
    monkeypatch.setattr(sys, "argv", [str(path)])
    with pytest.raises(ConstructedError):
        runpy.run_path(str(path), run_name="__main__")
    return captured


def differences(doc: dict, spec: dict, where: str = "") -> list[str]:
    found = []
    for name in sorted(set(doc) | set(spec)):
        if name not in spec:
            found.append(f"{where}{name}: documented, not in the argument_spec")
            continue
        if name not in doc:
            found.append(f"{where}{name}: in the argument_spec, not documented")
            continue
        for key in COMPARED:
            documented, actual = doc[name].get(key, DEFAULTS[key]), spec[name].get(key, DEFAULTS[key])
            if documented != actual:
                found.append(f"{where}{name}.{key}: documented {documented!r}, argument_spec {actual!r}")
        if doc[name].get("suboptions") or spec[name].get("options"):
            found += differences(doc[name].get("suboptions") or {}, spec[name].get("options") or {}, f"{name}.")
    return found


ACTIONS = REPO / "collections/ansible_collections/aws_webserver/core/plugins/action"


def action_argument_spec(path: Path) -> dict | None:
    """The ARGUMENT_SPEC of the action plugin of the module's name (a module file that holds only
    its documentation, as controller_file's), or None when there is no such action."""
    action = ACTIONS / path.name
    return runpy.run_path(str(action))["ARGUMENT_SPEC"] if action.exists() else None


@pytest.mark.parametrize("path", MODULES, ids=[p.stem for p in MODULES])
def test_the_documented_options_are_the_argument_spec(path, monkeypatch):
    doc = documentation(path)
    assert doc["module"] == path.stem
    spec = action_argument_spec(path)
    if spec is None:
        spec = argument_spec(path, monkeypatch)
    assert differences(doc.get("options") or {}, spec) == []
