"""The pins agree wherever they are written: requirements/*.in, their locks (requirements/*.txt,
every package with its hashes), the execution environment (execution-environment.yml) and the
collections file (collections/requirements.yml), against what the pinned `ansible` package bundles."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
REQUIREMENTS = ROOT / "requirements"
PIN = re.compile(r"^([A-Za-z0-9_.-]+)(?:\[[^\]]*\])?==([^\s;\\]+)", re.M)


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(text: str) -> dict[str, str]:
    return {canonical(name): version for name, version in PIN.findall(text)}


def locked(name: str) -> tuple[dict[str, str], list[str]]:
    """A lock's pins, and the packages in it without a hash."""
    text = (REQUIREMENTS / name).read_text()
    entries = re.split(r"\n(?=[A-Za-z0-9])", text)
    unhashed = [e.split("==")[0] for e in entries if PIN.match(e) and "--hash=sha256:" not in e]
    return pins(text), unhashed


def test_each_lock_holds_its_pins_and_every_package_with_a_hash():
    for source, lock in (("runtime.in", "runtime.txt"), ("dev.in", "dev.txt")):
        wanted = pins((REQUIREMENTS / source).read_text())
        found, unhashed = locked(lock)
        assert not unhashed, f"{lock}: no hash for {unhashed}; run make lock"
        differ = {name: (version, found.get(name)) for name, version in wanted.items() if found.get(name) != version}
        assert not differ, f"{lock} does not lock {source}'s pins (pin, locked): {differ}; run make lock"
    runtime, _ = locked("runtime.txt")
    dev, _ = locked("dev.txt")
    assert {name: dev.get(name) for name in runtime} == runtime, "dev.txt locks the runtime packages as runtime.txt"


def test_the_execution_environment_has_the_runtime_pins():
    ee = yaml.safe_load((ROOT / "execution-environment.yml").read_text())
    runtime = pins((REQUIREMENTS / "runtime.in").read_text())
    dependencies = ee["dependencies"]
    assert pins(dependencies["ansible_core"]["package_pip"]) == {"ansible-core": runtime["ansible-core"]}
    # The collections come from collections/requirements.yml, not the whole `ansible` bundle.
    expected = {name: version for name, version in runtime.items() if name not in ("ansible", "ansible-core")}
    assert pins("\n".join(dependencies["python"])) == expected
    assert (ROOT / dependencies["galaxy"]).is_file()


def test_the_collections_file_names_the_versions_the_pinned_ansible_bundles():
    import ansible_collections

    # The bundle's folder (the project's own collection has another in collections/).
    bundle = next(Path(p) for p in ansible_collections.__path__ if (Path(p) / "amazon" / "aws").is_dir())
    wanted = yaml.safe_load((ROOT / "collections/requirements.yml").read_text())["collections"]
    for collection in wanted:
        namespace, name = collection["name"].split(".")
        manifest = json.loads((bundle / namespace / name / "MANIFEST.json").read_text())
        assert manifest["collection_info"]["version"] == collection["version"], collection["name"]
