"""deployment_local_file: what the key pair tasks know of a private key on the controller."""

from __future__ import annotations

import importlib.util
from pathlib import Path

PLUGIN = Path(__file__).resolve().parents[2] / "roles" / "deployment" / "filter_plugins" / "local_files.py"
spec = importlib.util.spec_from_file_location("local_files", PLUGIN)
local_files = importlib.util.module_from_spec(spec)
spec.loader.exec_module(local_files)


def test_a_file_and_its_mode_as_stat_gives_it(tmp_path):
    key = tmp_path / "web-key.pem"
    key.write_text("private")
    key.chmod(0o600)
    assert local_files.deployment_local_file(str(key)) == {"exists": True, "mode": "0600", "directory": False}
    key.chmod(0o644)
    assert local_files.deployment_local_file(key) == {"exists": True, "mode": "0644", "directory": False}


def test_a_missing_path_or_a_folder_is_no_file_and_a_folder_tells_its_mode(tmp_path):
    none = {"exists": False, "mode": "", "directory": False}
    assert local_files.deployment_local_file(str(tmp_path / "none.pem")) == none
    folder = tmp_path / "keys"
    folder.mkdir(mode=0o700)
    assert local_files.deployment_local_file(str(folder)) == {"exists": False, "mode": "0700", "directory": True}
    folder.chmod(0o755)
    assert local_files.deployment_local_file(str(folder))["mode"] == "0755"


def test_a_path_from_the_home_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / "k.pem").write_text("x")
    assert local_files.deployment_local_file("~/k.pem")["exists"] is True
