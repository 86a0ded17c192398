"""Unit tests for library/access_log_info.py and library/access_log_mark.py, which moves the mark it reads.

The module runs as Ansible runs it: a subprocess with an ``ANSIBLE_MODULE_ARGS`` JSON file,
reading real log files written by the test (and rotated, truncated, replaced as logrotate would).
"""

import ast
import datetime
import json
import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
MODULE_PATHS = [
    REPO / "library" / "access_log_info.py",
    REPO / "library" / "access_log_mark.py",
    REPO / "module_utils" / "access_log_mark.py",
    REPO / "module_utils" / "deployment_time.py",
]
UA = "Mozilla/5.0 (X11; Linux x86_64)"


def stamp(minutes_ago=0.0, tz_hours=0):
    """Apache's %t for a time minutes_ago, written in a zone tz_hours from UTC."""
    zone = datetime.timezone(datetime.timedelta(hours=tz_hours))
    when = datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=minutes_ago)
    sign = "+" if tz_hours >= 0 else "-"
    return when.astimezone(zone).strftime("%d/%b/%Y:%H:%M:%S ") + f"{sign}{abs(tz_hours):02d}00"


def line(path="/", status=200, method="GET", client="203.0.113.7", agent=UA, minutes_ago=1.0, size=2919, tz_hours=0):
    return f'{client} - - [{stamp(minutes_ago, tz_hours)}] "{method} {path} HTTP/1.1" {status} {size} "-" "{agent}"\n'


@pytest.fixture
def logs(tmp_path):
    folder = tmp_path / "log"
    folder.mkdir()
    return {
        "access": folder / "access.log",
        "error": folder / "error.log",
        "state": tmp_path / "lib" / "webserver-monitor" / "last-publish",
    }


@pytest.fixture
def run(run_module_plain, logs):
    """Runs the module with the given options; returns (return code, result)."""

    def _run(check_mode=False, **options):
        paths = {"access_log": str(logs["access"]), "error_log": str(logs["error"]), "state_file": str(logs["state"])}
        if "mark" in options:  # what the playbook does after a successful PutMetricData
            return run_module_plain("access_log_mark", check_mode=check_mode, state_file=paths["state_file"], **options)
        return run_module_plain("access_log_info", check_mode=check_mode, **{**paths, **options})

    return _run


@pytest.fixture
def ok(run):
    """Runs the module, which must succeed; returns its result."""

    def _ok(**options):
        rc, result = run(**options)
        assert rc == 0, result
        return result

    return _ok


def append(path, *lines):
    with open(path, "a") as handle:
        handle.writelines(lines)


def publish(ok, result):
    """What the playbook does after a successful PutMetricData."""
    return ok(mark=result["page_views"]["mark"])


def test_summary_of_the_window(ok, logs):
    append(
        logs["access"],
        line("/", minutes_ago=300),  # before the window
        line("/", client="198.51.100.1"),
        line("/?utm=1", client="198.51.100.1"),
        line("/index.html"),
        line("/favicon.ico", status=404, size=196),
        line("/cgi-bin/x", status=500, method="POST", size=0),
        line("/", status=304, size=0),
        "this is not an access log line\n",
        f'127.0.0.1 - - [{stamp(2)}] "GET /legacy HTTP/1.0" 200 -\n',  # common log format
        f'www.example.com:80 127.0.0.1 - - [{stamp(2)}] "GET / HTTP/1.1" 200 10 "-" "{UA}"\n',  # vhost_combined
    )
    logs["error"].write_text("".join(f"[error] line {i}\n" for i in range(30)))
    result = ok(window_minutes=60, top=2, error_lines=5)
    assert result["changed"] is False
    assert result["requests"] == 8
    assert result["status_codes"] == [
        {"status": "200", "count": 5},
        {"status": "304", "count": 1},
        {"status": "404", "count": 1},
        {"status": "500", "count": 1},
    ]
    assert result["status_classes"] == {"1xx": 0, "2xx": 5, "3xx": 1, "4xx": 1, "5xx": 1}
    assert result["top_paths"] == [{"path": "/", "count": 4}, {"path": "/index.html", "count": 1}]
    assert result["top_clients"][0] == {"address": "203.0.113.7", "count": 4}
    assert len(result["top_clients"]) == 2
    assert result["bytes_sent"] == 2919 * 3 + 196 + 10
    assert result["unparsed_lines"] == 1
    assert result["error_log"]["lines"] == [f"[error] line {i}" for i in range(25, 30)]
    assert result["first_request"] < result["last_request"] <= result["window"]["end"]


def test_times_in_other_zones_are_compared_in_utc(ok, logs):
    append(logs["access"], line("/a", minutes_ago=30, tz_hours=-7), line("/b", minutes_ago=90, tz_hours=5))
    result = ok(window_minutes=60)
    assert [p["path"] for p in result["top_paths"]] == ["/a"]


def test_page_views_are_counted_once(ok, logs):
    append(
        logs["access"],
        line("/"),
        line("/index.html?from=mail"),
        line("/", status=304),
        line("/", agent="ansible-httpget"),  # the deployment's own check
        line("/", method="HEAD"),
        line("/", status=404),
        line("/other.html"),
    )
    first = ok()
    assert first["page_views"]["count"] == 3
    assert first["page_views"]["counted_from"] == "first_run" and first["page_views"]["since"] is None
    assert first["page_views"]["mark"]["offset"] == logs["access"].stat().st_size
    assert not logs["state"].exists(), "reading must never move the mark"

    again = ok()
    assert again["page_views"]["count"] == 3, "not published yet: counted again"

    committed = publish(ok, first)
    assert committed["changed"] is True
    assert json.loads(logs["state"].read_text())["offset"] == first["page_views"]["mark"]["offset"]
    after = ok()
    assert after["page_views"]["count"] == 0 and after["page_views"]["counted_from"] == "mark"
    assert after["requests"] == 7, "the summary still covers the whole window"

    append(logs["access"], line("/"), line("/"))
    more = ok()
    assert more["page_views"]["count"] == 2
    assert more["page_views"]["since"]["offset"] == first["page_views"]["mark"]["offset"]


def test_a_line_being_written_waits_for_the_next_run(ok, logs):
    append(logs["access"], line("/"))
    complete = logs["access"].stat().st_size
    append(logs["access"], line("/").rstrip("\n"))
    first = ok()
    assert first["page_views"]["count"] == 1 and first["page_views"]["mark"]["offset"] == complete
    publish(ok, first)
    append(logs["access"], "\n")
    second = ok()
    assert second["page_views"]["count"] == 1


def test_rotation_counts_the_rest_of_the_rotated_log(ok, logs):
    append(logs["access"], line("/"))
    first = ok()
    publish(ok, first)
    append(logs["access"], line("/"), line("/"))  # after the publish, before the rotation
    os.rename(logs["access"], f"{logs['access']}.1")
    append(logs["access"], line("/"), line("/"), line("/"))
    result = ok()
    assert result["page_views"]["counted_from"] == "rotated"
    assert result["page_views"]["count"] == 5
    assert result["access_log"]["rotated_read"] is True
    assert result["page_views"]["mark"]["inode"] == logs["access"].stat().st_ino
    assert any("rotated" in note for note in result["notes"])


def test_a_date_named_rotation_is_found_as_amazon_linux_names_it(ok, logs):
    """logrotate's dateext (Amazon Linux): access_log-20261207, beside older compressed ones."""
    append(logs["access"], line("/"))
    publish(ok, ok())
    append(logs["access"], line("/"), line("/"))
    older = Path(f"{logs['access']}-20261130.gz")
    older.write_bytes(b"\x1f\x8b not a log")
    os.rename(logs["access"], f"{logs['access']}-20261207")
    append(logs["access"], line("/"))
    result = ok()
    assert result["page_views"]["counted_from"] == "rotated"
    assert result["page_views"]["count"] == 3
    assert any(f"{logs['access']}-20261207" in note for note in result["notes"])


def test_load_balancer_health_checks_are_requests_not_page_views(ok, logs):
    append(logs["access"], line("/"), line("/", agent="ELB-HealthChecker/2.0"), line("/", agent="ansible-httpget"))
    result = ok()
    assert result["page_views"]["count"] == 1
    assert result["requests"] == 3


def test_a_log_truncated_in_place_is_counted_from_its_start(ok, logs):
    append(logs["access"], line("/"), line("/"), line("/"))
    first = ok()
    publish(ok, first)
    with open(logs["access"], "w") as handle:  # logrotate's copytruncate
        handle.write(line("/"))
    result = ok()
    assert result["page_views"]["counted_from"] == "truncated" and result["page_views"]["count"] == 1


def test_a_replaced_log_without_its_predecessor_counts_the_new_one(ok, logs):
    append(logs["access"], line("/"))
    first = ok()
    publish(ok, first)
    logs["access"].unlink()  # the new log may get the old one's inode number
    append(logs["access"], line("/", client="192.0.2.1"), line("/"))
    result = ok()
    assert result["page_views"]["counted_from"] == "replaced" and result["page_views"]["count"] == 2
    assert any("not counted" in note for note in result["notes"])


def test_window_reaches_into_the_rotated_log(ok, logs):
    append(logs["access"], line("/old", minutes_ago=10))
    os.rename(logs["access"], f"{logs['access']}.1")
    append(logs["access"], line("/new", minutes_ago=1))
    result = ok(window_minutes=60)
    assert {p["path"] for p in result["top_paths"]} == {"/old", "/new"}
    assert result["access_log"]["rotated_read"] is True
    assert result["page_views"]["count"] == 0  # neither is a page view; the rotated one is not counted anyway


def test_empty_and_missing_logs_are_not_errors(ok, logs):
    missing = ok()
    assert missing["access_log"]["exists"] is False and missing["requests"] == 0
    assert missing["page_views"] == {"count": 0, "since": None, "counted_from": "first_run", "mark": None}
    assert missing["error_log"]["exists"] is False and missing["error_log"]["lines"] == []
    assert any("does not exist" in note for note in missing["notes"])

    logs["access"].touch()
    logs["error"].touch()
    empty = ok()
    assert empty["requests"] == 0 and empty["status_codes"] == [] and empty["top_paths"] == []
    assert empty["first_request"] is None and empty["error_log"]["lines"] == []
    assert empty["page_views"]["count"] == 0 and empty["page_views"]["mark"]["offset"] == 0
    assert any("is empty" in note for note in empty["notes"])


def test_a_corrupt_mark_is_reported_and_counted_as_a_first_run(ok, logs):
    append(logs["access"], line("/"))
    logs["state"].parent.mkdir(parents=True)
    logs["state"].write_text("not json")
    result = ok()
    assert result["page_views"]["counted_from"] == "first_run" and result["page_views"]["count"] == 1
    assert any("not readable" in note for note in result["notes"])


def test_moving_the_mark_is_idempotent_and_check_mode_writes_nothing(ok, logs):
    append(logs["access"], line("/"))
    first = ok()
    mark = first["page_views"]["mark"]
    checked = ok(check_mode=True, mark=mark)
    assert checked["changed"] is True and not logs["state"].exists()
    assert checked["diff"]["before"] == "" and f'"offset": {mark["offset"]}' in checked["diff"]["after"]
    written = ok(mark=mark)
    assert written["changed"] is True and written["mark"]["offset"] == mark["offset"]
    assert oct(logs["state"].stat().st_mode & 0o777) == "0o644"
    again = ok(mark=mark)
    assert again["changed"] is False and again["diff"] == {}
    append(logs["access"], line("/"))
    moved = ok(mark=ok()["page_views"]["mark"])
    assert moved["changed"] is True and f'"offset": {mark["offset"]}' in moved["diff"]["before"]


def test_an_unreadable_mark_is_an_error_not_a_first_run(run, logs):
    """Counting from the start again would publish every page view twice."""
    append(logs["access"], line("/"))
    logs["state"].mkdir(parents=True)  # exists, but cannot be read as a file
    rc, result = run()
    assert rc != 0 and str(logs["state"]) in result["msg"]


def test_bad_options_are_refused(run):
    rc, result = run(window_minutes=0)
    assert rc != 0 and "window_minutes" in result["msg"]
    rc, result = run(mark={"inode": 1, "offset": -1})
    assert rc != 0 and "mark.offset" in result["msg"]


def test_runs_on_python_3_9():
    """Amazon Linux 2023 has Python 3.9: no newer syntax, no datetime.UTC."""
    for path in MODULE_PATHS:
        tree = ast.parse(path.read_text(), feature_version=(3, 9))
        attributes = {node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)}
        keywords = {node.arg for node in ast.walk(tree) if isinstance(node, ast.keyword)}
        assert "UTC" not in attributes and "strict" not in keywords, path.name
