"""The action group group/aws_webserver.core.aws names every AWS module the project's tasks use.

module_defaults set the AWS connection (region, endpoint_url, credentials) through that group. It
lists the amazon.aws and community.aws modules one by one, because extending their whole groups
made ansible-playbook resolve some 300 modules for every play with module_defaults. A task with an
AWS module that is missing from the list would silently run without the connection settings (on
the local cloud it would talk to AWS's default endpoints), so this test finds every such task.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
RUNTIME = REPO / "collections/ansible_collections/aws_webserver/core/meta/runtime.yml"
TASK_FILES = sorted(
    p for p in [*REPO.glob("playbooks/*.yml"), *REPO.glob("roles/**/*.yml")] if "/defaults/" not in str(p)
)


def collection_root(name: str) -> Path:
    """Where the ansible package installed a collection (amazon.aws, community.aws)."""
    spec = importlib.util.find_spec("ansible_collections")
    for location in spec.submodule_search_locations:
        candidate = Path(location, *name.split("."))
        if candidate.is_dir():
            return candidate
    raise AssertionError(f"collection {name} is not installed")


def their_group(name: str) -> set[str]:
    """The modules of a collection's own 'aws' action group, by FQCN."""
    runtime = yaml.safe_load((collection_root(name) / "meta/runtime.yml").read_text())
    return {f"{name}.{action}" for action in runtime["action_groups"]["aws"] if isinstance(action, str)}


def our_group() -> list[str]:
    return [a for a in yaml.safe_load(RUNTIME.read_text())["action_groups"]["aws"] if isinstance(a, str)]


def used_modules() -> dict[str, set[str]]:
    """Every module key of a task, handler or block item in the playbooks and roles: {fqcn: files}."""
    used: dict[str, set[str]] = {}

    def walk(node, where):
        if isinstance(node, dict):
            for key, value in node.items():
                if isinstance(key, str) and key.count(".") == 2:
                    used.setdefault(key, set()).add(where)
                walk(value, where)
        elif isinstance(node, list):
            for item in node:
                walk(item, where)

    for path in TASK_FILES:
        walk(yaml.safe_load(path.read_text()), str(path.relative_to(REPO)))
    return used


def test_the_task_files_are_found():
    assert len(TASK_FILES) > 40
    assert "amazon.aws.ec2_instance" in used_modules()


def test_every_aws_module_a_task_uses_is_in_the_group():
    aws_modules = their_group("amazon.aws") | their_group("community.aws")
    used = used_modules()
    missing = {module: sorted(used[module]) for module in used if module in aws_modules and module not in our_group()}
    assert not missing, f"add these to action_groups.aws in {RUNTIME.relative_to(REPO)}: {missing}"


def test_every_module_the_group_names_exists():
    for fqcn in our_group():
        if fqcn.count(".") != 2:
            assert (REPO / "library" / f"{fqcn}.py").is_file(), fqcn  # the project's own
            continue
        namespace, collection, module = fqcn.split(".")
        modules = collection_root(f"{namespace}.{collection}") / "plugins/modules"
        assert (modules / f"{module}.py").is_file(), f"{module} is no module of {namespace}.{collection}"
