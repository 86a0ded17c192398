"""Shared fixtures for the module unit tests: moto's server in this process, and a runner
that executes a module from library/ as Ansible does (a subprocess with its JSON arguments)."""

from __future__ import annotations

import ast
import functools
import json
import logging
import os
import socket
import subprocess
import sys
import uuid
from pathlib import Path

import boto3
import pytest
import yaml
from moto.server import ThreadedMotoServer

REPO = Path(__file__).resolve().parents[2]
REGION = "us-east-1"
# The project's collection (collections/, ansible.cfg's collections_path), whose module_utils are
# the top-level module_utils/ the modules import as ansible_collections.aws_webserver.core....
COLLECTIONS = str(REPO / "collections")
# Runs a module file as Ansible would, with the collection importable:
# python -c WITH_MODULE_UTILS <module.py> <args.json>.
WITH_MODULE_UTILS = f"""
import runpy, sys
sys.path.insert(0, {COLLECTIONS!r})
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")
"""

# The same in this process, for tests that import a module or read its argument_spec.
if COLLECTIONS not in sys.path:
    sys.path.insert(0, COLLECTIONS)

# The unit tests talk to moto only. A shell that evaluated `localcloud env` (AWS_ENDPOINT_URL) or
# holds a developer's profile must not redirect the clients they build, in this process (moto's
# mock_aws intercepts AWS's own host names, not an endpoint URL) or in a module run (module_env).
for _name in [name for name in os.environ if name.startswith("AWS_")]:
    del os.environ[_name]
os.environ.update(
    AWS_CONFIG_FILE="/dev/null", AWS_SHARED_CREDENTIALS_FILE="/dev/null", AWS_EC2_METADATA_DISABLED="true"
)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def moto_endpoint():
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture(scope="module")
def moto_client(moto_endpoint):
    """moto_client("s3") -> a boto3 client of moto's server, with the test credentials."""

    def _client(service: str):
        return boto3.client(
            service,
            endpoint_url=moto_endpoint,
            region_name=REGION,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    return _client


def module_env() -> dict[str, str]:
    """The environment of a module run: no real AWS configuration, nothing proxied."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_") and not k.lower().endswith("_proxy")}
    env.update(
        AWS_CONFIG_FILE="/dev/null",
        AWS_SHARED_CREDENTIALS_FILE="/dev/null",
        AWS_EC2_METADATA_DISABLED="true",
        NO_PROXY="127.0.0.1,localhost",
        no_proxy="127.0.0.1,localhost",
    )
    return env


# Keys every module result may carry without documenting them in RETURN (Ansible's own, the file
# attributes AnsibleModule adds to a result that names a path, amazon.aws's error details).
COMMON_RESULT_KEYS = frozenset(
    {"changed", "failed", "msg", "invocation", "diff", "warnings", "deprecations", "exception", "skipped",
     "uid", "gid", "owner", "group", "mode", "state", "size",
     "error", "response_metadata", "boto3_version", "botocore_version"}
)  # fmt: skip


@functools.cache
def documented_returns(module: str) -> frozenset:
    """The top-level keys the module's RETURN documents."""
    tree = ast.parse((REPO / "library" / f"{module}.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "RETURN":
            return frozenset(yaml.safe_load(node.value.value) or {})
    return frozenset()


def module_runner(tmp_path: Path, defaults: dict):
    """A function that runs a module from library/ with `defaults` and its own options added."""
    remote_tmp = tmp_path / "remote_tmp"
    remote_tmp.mkdir(mode=0o700, exist_ok=True)

    def _run(module: str, /, check_mode: bool = False, diff: bool = False, **options):
        args = {
            **defaults,
            **options,
            "_ansible_check_mode": check_mode,
            "_ansible_diff": diff,
            "_ansible_remote_tmp": str(remote_tmp),
            "_ansible_keep_remote_files": False,
        }
        args_file = tmp_path / f"args-{uuid.uuid4().hex}.json"
        args_file.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": args}))
        proc = subprocess.run(
            [sys.executable, "-c", WITH_MODULE_UTILS, str(REPO / "library" / f"{module}.py"), str(args_file)],
            capture_output=True,
            text=True,
            env=module_env(),
            cwd=REPO,
            timeout=120,
            check=False,
        )
        assert "Traceback" not in proc.stderr, proc.stderr
        try:
            result = json.loads(proc.stdout)
        except json.JSONDecodeError:
            pytest.fail(f"{module} printed no JSON (rc {proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
        # The docs gate's other half: whatever a module returns, its RETURN documents.
        undocumented = set(result) - COMMON_RESULT_KEYS - documented_returns(module)
        assert not undocumented, f"{module} returned keys its RETURN does not document: {sorted(undocumented)}"
        return proc.returncode, result

    return _run


@pytest.fixture
def run_module(moto_endpoint, tmp_path):
    """run_module("module", check_mode=False, diff=False, **options) -> (return code, result), against moto."""
    connection = {"endpoint_url": moto_endpoint, "access_key": "testing", "secret_key": "testing", "region": REGION}
    return module_runner(tmp_path, connection)


@pytest.fixture
def run_module_plain(tmp_path):
    """As run_module, for a module that talks to no AWS API (no connection options)."""
    return module_runner(tmp_path, {})
