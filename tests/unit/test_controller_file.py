"""The controller_file action (monitor.yml's reports), run by ansible-playbook on the controller."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
ANSIBLE_PLAYBOOK = Path(sys.executable).parent / "ansible-playbook"


def play(tmp_path: Path, *tasks: dict, check: bool = False, diff: bool = False) -> tuple[int, list[dict]]:
    """Run the tasks on localhost; (return code, each task's result) from the json callback."""
    book = tmp_path / "play.yml"
    book.write_text(yaml.safe_dump([{"hosts": "localhost", "connection": "local", "gather_facts": False,
                                     "tasks": list(tasks)}]))  # fmt: skip
    env = {
        **os.environ,
        "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"),
        "ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json",
        "ANSIBLE_CALLBACKS_ENABLED": "ansible.posix.json",  # not profile_tasks, which prints to stdout too
        "ANSIBLE_LOG_PATH": str(tmp_path / "ansible.log"),
    }
    args = [str(ANSIBLE_PLAYBOOK), "-i", "localhost,", str(book), *(["--check"] if check else []),
            *(["--diff"] if diff else [])]  # fmt: skip
    proc = subprocess.run(args, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120, check=False)
    results = [task["hosts"]["localhost"] for task in json.loads(proc.stdout)["plays"][0]["tasks"]]
    return proc.returncode, results


def write(dest: Path, content: str, mode: str = "0644", **task) -> dict:
    return {"aws_webserver.core.controller_file": {"content": content, "dest": str(dest), "mode": mode}, **task}


def test_the_file_is_written_with_its_mode_and_a_rewrite_of_the_same_changes_nothing(tmp_path):
    dest = tmp_path / "report.json"
    rc, results = play(
        tmp_path, write(dest, '{"a": 1}\n'), write(dest, '{"a": 1}\n'), write(dest, '{"a": 1}\n', "0600")
    )
    assert rc == 0, results
    assert [r["changed"] for r in results] == [True, False, True]
    assert dest.read_text() == '{"a": 1}\n'  # the text as given, not a value parsed from it
    assert (dest.stat().st_mode & 0o777) == 0o600
    assert results[0]["size"] == 9 and results[0]["dest"] == str(dest)
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_check_mode_writes_nothing_and_diff_shows_the_change(tmp_path):
    dest = tmp_path / "report.html"
    dest.write_text("old\n")
    rc, results = play(tmp_path, write(dest, "new\n"), check=True, diff=True)
    assert rc == 0, results
    assert results[0]["changed"] is True
    assert (results[0]["diff"]["before"], results[0]["diff"]["after"]) == ("old\n", "new\n")
    assert dest.read_text() == "old\n"


def test_a_task_with_check_mode_false_writes_in_a_check_run(tmp_path):
    dest = tmp_path / "report.html"
    rc, results = play(tmp_path, write(dest, "report\n", check_mode=False), check=True)
    assert rc == 0, results
    assert dest.read_text() == "report\n"


def test_bad_input_fails_with_a_message_naming_it(tmp_path):
    rc, results = play(
        tmp_path,
        write(tmp_path / "a.txt", "x", "rw-r--r--", ignore_errors=True),
        write(tmp_path / "no-such-folder" / "a.txt", "x", ignore_errors=True),
    )
    assert rc == 0, results
    assert "mode='rw-r--r--' is not a file mode" in results[0]["msg"]
    assert results[1]["msg"].startswith(f"Could not write {tmp_path}/no-such-folder/a.txt: No such file or directory")
    assert not (tmp_path / "a.txt").exists()


def test_state_absent_removes_a_file_never_shows_its_content_and_refuses_a_folder(tmp_path):
    key = tmp_path / "web-key.pem"
    key.write_text("-----BEGIN OPENSSH PRIVATE KEY-----\nsecret\n")
    gone = {"aws_webserver.core.controller_file": {"dest": str(key), "state": "absent"}}
    rc, results = play(tmp_path, gone, check=True, diff=True)
    assert rc == 0, results
    assert results[0]["changed"] is True and key.exists()
    assert "secret" not in json.dumps(results)
    rc, results = play(
        tmp_path,
        gone,
        gone,
        {"aws_webserver.core.controller_file": {"dest": str(tmp_path), "state": "absent"}, "ignore_errors": True},
        {"aws_webserver.core.controller_file": {"dest": str(tmp_path / "x")}, "ignore_errors": True},
    )
    assert rc == 0, results
    assert [r["changed"] for r in results[:2]] == [True, False] and not key.exists()
    assert results[2]["msg"] == f"{tmp_path} is a folder: controller_file removes files only." and tmp_path.is_dir()
    assert "content" in results[3]["msg"]
