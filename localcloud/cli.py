"""`localcloud`: start, stop and inspect the local AWS cloud.

localcloud up            start moto's API, the image origin and the instance runtime
localcloud down          stop it and remove every instance container
localcloud status        what runs, where, and which instances exist
localcloud env           shell exports that point AWS tools at the local cloud
localcloud image build   build the Debian instance image (once; reused after)
localcloud origin next   serve a new image at the origin URL
localcloud metrics       publish the instances' EC2 metrics now
localcloud alarms        evaluate every CloudWatch alarm now, carry out its actions, show each state
localcloud outbox        the SNS messages to e-mail and web hooks the local cloud kept, newest first
localcloud faults        AWS's failures on purpose: throttling, 500s, expired keys, dropped SSH (faults.py)
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from . import config, image
from .errors import LocalCloudError
from .origin import Origin
from .podman import Podman


def _pid(settings: config.Settings) -> int | None:
    try:
        pid = int(settings.pid_file.read_text().strip())
    except (FileNotFoundError, ValueError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass
    return pid


def _answers(settings: config.Settings) -> bool:
    try:
        with urllib.request.urlopen(f"{settings.endpoint}/moto-api/", timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def _port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log)"


def cmd_up(settings: config.Settings, args: argparse.Namespace) -> int:
    if _pid(settings) and _answers(settings):
        print(f"The local cloud is already up at {settings.endpoint} (pid {_pid(settings)}); nothing to do.")
        return 0
    Podman.check_installed()
    if os.geteuid() != 0:
        raise LocalCloudError(
            "the local cloud needs root: it makes a network namespace for every instance. Run it as root."
        )
    for name, port in (("LOCALCLOUD_PORT", settings.port), ("LOCALCLOUD_ORIGIN_PORT", settings.origin_port)):
        if not _port_free(settings.host, port):
            raise LocalCloudError(
                f"port {port} on {settings.host} is in use by another program. Stop that program, "
                f"or choose another port: {name}=<port> localcloud up"
            )
    podman = Podman(settings.containers_conf)
    if not image.exists(podman):
        if args.no_build:
            raise LocalCloudError("the instance image is not built: run 'localcloud image build' (or 'make setup').")
        image.build(podman, settings.image_dir)
    settings.home.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with open(settings.log_file, "ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "localcloud.daemon"],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,
            cwd=config.PROJECT_ROOT,
            env={**os.environ, "PYTHONPATH": str(config.PROJECT_ROOT)},
        )
    deadline = time.monotonic() + args.timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise LocalCloudError(
                f"the local cloud stopped while starting (exit {process.returncode}). "
                f"Last lines of {settings.log_file}:\n{_tail(settings.log_file)}"
            )
        if _answers(settings):
            print(f"The local cloud is up at {settings.endpoint} ({time.monotonic() - started:.1f} s).")
            print(f"Image origin: {settings.origin_url}")
            print('Point AWS tools at it with:  eval "$(.venv/bin/localcloud env)"')
            return 0
        time.sleep(0.1)
    process.terminate()
    raise LocalCloudError(f"the local cloud did not answer within {args.timeout} s; see {settings.log_file}")


def cmd_down(settings: config.Settings, args: argparse.Namespace) -> int:
    pid = _pid(settings)
    if pid is None:
        leftovers = 0
        if shutil.which("podman"):
            from .runtime import Cloud

            leftovers = Cloud(settings, lambda _msg: None).sweep()
        settings.pid_file.unlink(missing_ok=True)
        extra = f"; removed {leftovers} leftover container(s)" if leftovers else ""
        print(f"The local cloud is not running; nothing to stop{extra}.")
        return 0
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + args.timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        os.kill(pid, signal.SIGKILL)
    from .runtime import Cloud

    Cloud(settings, lambda _msg: None).sweep()
    settings.pid_file.unlink(missing_ok=True)
    print("The local cloud is down; its instances are gone.")
    return 0


def cmd_status(settings: config.Settings, args: argparse.Namespace) -> int:
    pid = _pid(settings)
    up = pid is not None and _answers(settings)
    info = {
        "running": up,
        "pid": pid,
        "endpoint": settings.endpoint,
        "origin": settings.origin_url,
        "home": str(settings.home),
        "image": image.image_ref(),
        "instances": [],
    }
    if up:
        ec2 = config.client(settings, "ec2")
        for reservation in ec2.describe_instances()["Reservations"]:
            for inst in reservation["Instances"]:
                info["instances"].append(
                    {
                        "id": inst["InstanceId"],
                        "state": inst["State"]["Name"],
                        "public_ip": inst.get("PublicIpAddress"),
                        "name": next((t["Value"] for t in inst.get("Tags", []) if t["Key"] == "Name"), ""),
                    }
                )
    if args.json:
        print(json.dumps(info, indent=2))
        return 0 if up else 3
    if not up:
        print(f"The local cloud is not running (start it with 'localcloud up'). Home: {settings.home}")
        return 3
    print(f"The local cloud is up at {settings.endpoint} (pid {pid}); image origin {settings.origin_url}")
    print(f"Region {settings.region}; instance image {image.image_ref()}; home {settings.home}")
    if not info["instances"]:
        print("No instances.")
    for inst in info["instances"]:
        print(f"  {inst['id']}  {inst['state']:<13} {inst['public_ip'] or '-':<15} {inst['name']}")
    return 0


def cmd_env(settings: config.Settings, args: argparse.Namespace) -> int:
    for key, value in config.client_environment(settings).items():
        print(f"export {key}={value}")
    return 0


def cmd_image(settings: config.Settings, args: argparse.Namespace) -> int:
    podman = Podman(settings.containers_conf)
    if args.action == "status":
        built = image.exists(podman)
        print(f"{image.image_ref()}: {'built' if built else 'not built'}")
        return 0 if built else 1
    Podman.check_installed()
    image.build(podman, settings.image_dir, force=args.force)
    return 0


def cmd_origin(settings: config.Settings, args: argparse.Namespace) -> int:
    origin = Origin(settings.origin_dir)
    if args.action == "next":
        number = origin.next()
        print(f"The origin now serves image #{number} at {settings.origin_url}")
    elif args.action == "set":
        origin.set(Path(args.file))
        print(f"The origin now serves {args.file} at {settings.origin_url}")
    else:
        origin.ensure()
        print(f"{settings.origin_url} serves {origin.image} (image #{origin.number()})")
    return 0


def cmd_metrics(settings: config.Settings, args: argparse.Namespace) -> int:
    pid = _pid(settings)
    if pid is None:
        raise LocalCloudError("the local cloud is not running: start it with 'localcloud up'.")
    os.kill(pid, signal.SIGUSR1)
    print("Asked the local cloud to publish its instances' EC2 metrics now.")
    return 0


def _local_api(settings: config.Settings, method: str, path: str, body: object = None) -> dict:
    if _pid(settings) is None:
        raise LocalCloudError("the local cloud is not running: start it with 'localcloud up'.")
    data = b"" if body is None else json.dumps(body).encode()
    request = urllib.request.Request(f"{settings.endpoint}/localcloud-api/{path}", method=method, data=data)
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as exc:
        said = json.loads(exc.read() or b"{}").get("error", exc.reason)
        raise LocalCloudError(f"{path}: {said}") from exc
    except (urllib.error.URLError, OSError) as exc:
        raise LocalCloudError(f"the local cloud did not answer {path}: {exc}") from exc


def cmd_faults(settings: config.Settings, args: argparse.Namespace) -> int:
    """Show, set, add or clear the fault rules; expire an access key; drop an instance's SSH."""
    if args.action == "drop-ssh":
        answer = _local_api(settings, "POST", f"instances/{args.target}/drop", {"port": 22, "count": args.count})
        print(f"Cut {answer['cut']} SSH connection(s) of {args.target}; the next {args.count} will be dropped.")
        return 0
    if args.action == "expire-key":
        rule = {"access_key": args.target, "error": "expired", "after": time.time() + args.seconds}
        rules = _local_api(settings, "POST", "faults", rule)["rules"]
    elif args.action in ("set", "add"):
        try:
            body = json.loads(args.target or "")
        except json.JSONDecodeError as exc:
            raise LocalCloudError(
                f"faults {args.action}: give a JSON {'list of rules' if args.action == 'set' else 'rule'} ({exc})"
            ) from exc
        rules = _local_api(settings, "PUT" if args.action == "set" else "POST", "faults", body)["rules"]
    elif args.action == "clear":
        rules = _local_api(settings, "DELETE", "faults")["rules"]
    else:
        rules = _local_api(settings, "GET", "faults")["rules"]
    print(json.dumps(rules, indent=2) if rules else "No fault rules: every request is answered by the APIs.")
    return 0


def cmd_alarms(settings: config.Settings, args: argparse.Namespace) -> int:
    alarms = _local_api(settings, "POST", "alarms/evaluate")["alarms"]
    if args.json:
        print(json.dumps(alarms, indent=2))
        return 0
    if not alarms:
        print("No alarms.")
    for alarm in alarms:
        print(f"{alarm['state']:<17} {alarm['name']}  ({alarm['region']}, since {alarm['updated'][:19]})")
        print(f"{'':<17} {alarm['reason']}")
    return 0


def cmd_outbox(settings: config.Settings, args: argparse.Namespace) -> int:
    from .outbox import Outbox

    messages = Outbox(settings.outbox_file).read()[: args.limit]
    if args.json:
        print(json.dumps(messages, indent=2))
        return 0
    if not messages:
        print(f"The outbox is empty ({settings.outbox_file}).")
    for message in messages:
        print(f"{message['time']}  {message['protocol']}:{message['endpoint']}  ({message['topic_arn']})")
        print(f"  Subject: {message['subject']}")
        print("  " + "\n  ".join(str(message["body"]).splitlines()))
        print()
    return 0


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="localcloud", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = top.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="start the local cloud (idempotent)")
    up.add_argument("--timeout", type=float, default=60, help="seconds to wait for the API (default 60)")
    up.add_argument("--no-build", action="store_true", help="fail instead of building a missing image")
    up.set_defaults(func=cmd_up)
    down = sub.add_parser("down", help="stop the local cloud and remove its instances")
    down.add_argument("--timeout", type=float, default=60)
    down.set_defaults(func=cmd_down)
    status = sub.add_parser("status", help="show what runs (exit 3 when down)")
    status.add_argument("--json", action="store_true")
    status.set_defaults(func=cmd_status)
    sub.add_parser("env", help="print shell exports for AWS tools").set_defaults(func=cmd_env)
    img = sub.add_parser("image", help="build or check the instance image")
    img.add_argument("action", choices=["build", "status"])
    img.add_argument("--force", action="store_true", help="rebuild even if it exists")
    img.set_defaults(func=cmd_image)
    origin = sub.add_parser("origin", help="switch the image the origin serves")
    origin.add_argument("action", choices=["next", "set", "show"])
    origin.add_argument("file", nargs="?", help="a JPEG file, with 'set'")
    origin.set_defaults(func=cmd_origin)
    sub.add_parser("metrics", help="publish EC2 metrics now").set_defaults(func=cmd_metrics)
    alarms = sub.add_parser("alarms", help="evaluate every alarm now and show its state")
    alarms.add_argument("--json", action="store_true")
    alarms.set_defaults(func=cmd_alarms)
    faults = sub.add_parser(
        "faults",
        help="inject AWS's failures: show, set JSON, add JSON, clear, expire-key KEY, drop-ssh INSTANCE",
        description="Rules: localcloud/faults.py. Examples: localcloud faults add "
        '\'{"error": "throttle", "probability": 0.2}\'; localcloud faults expire-key AKIA... --seconds 30; '
        "localcloud faults drop-ssh i-0123... --count 1",
    )
    faults.add_argument(
        "action", choices=["show", "set", "add", "clear", "expire-key", "drop-ssh"], nargs="?", default="show"
    )
    faults.add_argument("target", nargs="?", help="the JSON (set, add), the access key or the instance id")
    faults.add_argument("--seconds", type=float, default=0, help="expire-key: seconds from now (default 0)")
    faults.add_argument("--count", type=int, default=1, help="drop-ssh: connections to drop after the cut (default 1)")
    faults.set_defaults(func=cmd_faults)
    outbox = sub.add_parser("outbox", help="show the SNS messages kept for e-mail and web hooks")
    outbox.add_argument("--json", action="store_true")
    outbox.add_argument("--limit", type=int, default=20, help="how many, newest first (default 20)")
    outbox.set_defaults(func=cmd_outbox)
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if getattr(args, "action", None) == "set" and not args.file:
        print(
            "localcloud origin set: give the JPEG file to serve, e.g. 'localcloud origin set photo.jpg'",
            file=sys.stderr,
        )
        return 2
    try:
        settings = config.load()
        return args.func(settings, args)
    except LocalCloudError as exc:
        print(f"localcloud {args.command}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"localcloud {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
