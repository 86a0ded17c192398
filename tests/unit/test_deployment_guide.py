"""The deployment_guide callback's Ctrl-C handling: an interrupt ansible-core loses still stops the run."""

from __future__ import annotations

import importlib.util
import signal
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

PLUGIN = Path(__file__).resolve().parents[2] / "callback_plugins" / "deployment_guide.py"
spec = importlib.util.spec_from_file_location("deployment_guide", PLUGIN)
guide = importlib.util.module_from_spec(spec)
spec.loader.exec_module(guide)


def ansible_core_handler(signum, frame):
    """What ansible-core's TaskQueueManager installs: back to the default, then KeyboardInterrupt."""
    signal.signal(signum, signal.SIG_DFL)
    raise KeyboardInterrupt


@pytest.fixture
def start(tmp_path):
    """start() -> the callback after the start of a deploy.yml run (called in the test: pytest sets its
    own unraisable hook around each phase)."""
    before = signal.getsignal(signal.SIGINT), sys.unraisablehook
    plugins = []

    def _start():
        signal.signal(signal.SIGINT, ansible_core_handler)
        plugin = guide.CallbackModule()
        plugin._log = lambda message: None  # no log file here
        plugin.v2_playbook_on_start(SimpleNamespace(_file_name=str(tmp_path / "deploy.yml")))
        plugins.append(plugin)
        return plugin

    yield _start
    for plugin in plugins:
        guide.atexit.unregister(plugin._at_exit)
    signal.signal(signal.SIGINT, before[0])
    sys.unraisablehook = before[1]


class RaisesInDel:
    """Where Python ignores an exception, like the at-fork handler ansible-core's worker start runs."""

    def __del__(self):
        signal.raise_signal(signal.SIGINT)


def task(name="Ensure the bucket exists"):
    return SimpleNamespace(get_name=lambda: name, action="amazon.aws.s3_bucket")


def test_a_ctrl_c_lost_where_python_ignores_exceptions_stops_the_run_at_the_next_task(start, capsys):
    callback = start()
    RaisesInDel()  # the KeyboardInterrupt is lost: the run would go on as if nothing was pressed
    assert capsys.readouterr().err == "Ctrl-C noted: the run stops when the next task starts.\n"
    with pytest.raises(KeyboardInterrupt):
        callback.v2_playbook_on_task_start(task(), False)
    callback.v2_playbook_on_task_start(task("the next one"), False)  # once only


def test_without_a_ctrl_c_tasks_start_as_usual(start):
    callback = start()
    callback.v2_playbook_on_task_start(task(), False)
    assert callback._started == {"the S3 bucket": "Ensure the bucket exists"}
    assert signal.getsignal(signal.SIGINT) is not ansible_core_handler  # watched, still ansible-core's behind it


def test_the_guide_names_the_deployment_the_role_recorded_in_the_run_s_stats(start, capsys):
    callback = start()
    callback._display = SimpleNamespace(display=lambda text, **_kwargs: print(text))
    # What names.yml's set_stats task returns: the name an interactive run chose is not an extra var.
    stats = {"data": {"deployment_name": "chosen", "deployment_region": "eu-west-1"}, "per_host": False}
    callback.v2_runner_on_ok(SimpleNamespace(_result={"ansible_stats": stats, "changed": False}))
    callback.v2_playbook_on_task_start(task(), False)
    callback.v2_runner_on_failed(SimpleNamespace(_task=task(), _result={"msg": "BucketAlreadyExists"}))
    callback.v2_playbook_on_stats(SimpleNamespace(processed={"localhost": 1}, failures={"localhost": 1}, dark={}))
    out = capsys.readouterr().out
    assert "These resources of deployment 'chosen' may exist now (and cost money on AWS): the S3 bucket." in out
    assert "playbooks/teardown.yml -e deployment_name=chosen -e deployment_region=eu-west-1" in out


def test_an_unreachable_host_is_named_with_the_task_and_what_to_check_when_the_run_fails(start, capsys):
    callback = start()
    callback._display = SimpleNamespace(display=lambda text, **_kwargs: print(text))
    host = SimpleNamespace(get_name=lambda: "demo-web")
    ignored = SimpleNamespace(get_name=lambda: "Wait for cloud-init", action="raw", ignore_unreachable=True)
    callback.v2_runner_on_unreachable(SimpleNamespace(_task=ignored, _host=host, _result={"msg": "reset"}))
    assert callback._unreachable == {}, "a task that waits for SSH itself says why when it gives up"
    page = SimpleNamespace(get_name=lambda: "webserver : Template the home page", action="template")
    said = "Failed to connect to the host via ssh: Connection closed by 127.42.0.7 port 22"
    callback.v2_runner_on_unreachable(SimpleNamespace(_task=page, _host=host, _result={"msg": said}))
    callback.v2_playbook_on_stats(SimpleNamespace(processed={"demo-web": 1}, failures={}, dark={"demo-web": 1}))
    out = " ".join(capsys.readouterr().out.split())
    assert 'demo-web could not be reached by SSH during "webserver : Template the home page", after one retry' in out
    assert "Connection closed by 127.42.0.7 port 22" in out and "deployment_ssh_cidr" in out


def test_expired_credentials_are_named_with_how_to_renew_them(start, capsys):
    callback = start()
    callback._display = SimpleNamespace(display=lambda text, **_kwargs: print(text))
    said = "An error occurred (ExpiredToken) when calling the RunInstances operation: The security token ... expired"
    callback.v2_runner_on_failed(SimpleNamespace(_task=task("Launch the instance"), _result={"msg": said}))
    callback.v2_playbook_on_stats(SimpleNamespace(processed={"localhost": 1}, failures={"localhost": 1}, dark={}))
    out = " ".join(capsys.readouterr().out.split())
    assert "AWS said the credentials expired during \"Launch the instance\". Renew them ('aws sso login'" in out
