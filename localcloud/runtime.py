"""What stands behind an EC2 instance in the local cloud: a namespace, a container, its addresses.

moto keeps the API's record of every instance. This module gives each one a body:
- a network namespace with the instance's private address and the metadata address,
- the metadata server listening inside that namespace,
- a container from the local instance image, booting systemd and cloud-init,
- forwarders on the instance's public (loopback) address for ports 22, 80 and 443.

Launch, stop, start, reboot and terminate move the instance through EC2's states
(pending, running, stopping, stopped, shutting-down, terminated) while the work happens.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from . import config, image, netns
from .errors import LocalCloudError
from .forward import Counters, Forwarder
from .imds import MetadataServer, prefix_length
from .podman import Podman

PUBLIC_PORTS = (22, 80, 443)
STATES = {
    "pending": 0,
    "running": 16,
    "shutting-down": 32,
    "terminated": 48,
    "stopping": 64,
    "stopped": 80,
}


def set_state(instance: Any, name: str) -> None:
    instance._state.name = name
    instance._state.code = STATES[name]


def ami_id() -> str:
    """The AMI id of the local instance image: stable for one image recipe."""
    return "ami-" + hashlib.sha256(image.image_ref().encode()).hexdigest()[:17]


class InstanceBody:
    """The runtime parts of one instance."""

    def __init__(self, cloud: Cloud, instance: Any):
        self.cloud = cloud
        self.instance = instance
        self.id = instance.id
        self.name = f"{cloud.settings.namespace_prefix}-{instance.id}"
        self.counters = Counters()
        self.metadata: MetadataServer | None = None
        self.forwarders: list[Forwarder] = []
        self.container_started = False

    # --- parts -----------------------------------------------------------------------
    def make_namespace(self) -> None:
        nic = self.instance.nics[0]
        netns.create(
            self.name,
            self.instance.private_ip,
            prefix_length(nic.subnet.cidr_block),
            nic.mac_address,
        )
        sock = netns.listener_in(netns.metadata_namespace(self.name), netns.METADATA_ADDRESS, 80)
        self.metadata = MetadataServer(sock, self.id, lambda: self.instance, self.cloud.log)
        self.metadata.start()

    def open_public_ports(self) -> None:
        public_ip = self.instance.public_ip
        if not public_ip:
            return
        for port in PUBLIC_PORTS:
            fwd = Forwarder(
                public_ip,
                port,
                self.name,
                self.instance.private_ip,
                lambda: list(self.instance.security_groups),
                self.counters,
                self.cloud.log,
            )
            fwd.start()
            self.forwarders.append(fwd)

    def close_public_ports(self) -> None:
        for fwd in self.forwarders:
            fwd.close()
        self.forwarders = []

    def run_container(self) -> None:
        hostname = (self.instance.private_dns_name or self.id).split(".")[0]
        self.cloud.podman.run(
            "run", "--detach", "--tty",
            "--name", self.name,
            "--label", f"{config.LABEL}={self.cloud.settings.home}",
            "--label", f"io.localcloud.instance={self.id}",
            "--network", f"ns:/run/netns/{self.name}",
            "--hostname", hostname,
            "--systemd", "always",
            image.image_ref(), "/sbin/init",
        )  # fmt: skip
        self.container_started = True

    def remove(self) -> None:
        self.close_public_ports()
        self.cloud.podman.remove(self.name)
        if self.metadata is not None:
            self.metadata.stop()
            self.metadata = None
        netns.delete(self.name)

    # --- lifecycle ---------------------------------------------------------------------
    def launch(self) -> None:
        try:
            self.make_namespace()
            self.run_container()
            self.open_public_ports()
        except Exception as exc:  # noqa: BLE001 - any failure must end the launch cleanly
            self.cloud.log(f"{self.id}: launch failed: {exc}")
            self.remove()
            self.instance._reason = "Server.InternalError"
            from moto.ec2.models.instances import StateReason

            self.instance.state_reason = StateReason(
                f"Server.InternalError: Internal error on launch: {exc}", "Server.InternalError"
            )
            set_state(self.instance, "terminated")
            self.cloud.forget(self.id)
            return
        set_state(self.instance, "running")
        self.cloud.log(f"{self.id}: running at {self.instance.public_ip}")

    def stop(self) -> None:
        self.close_public_ports()
        self.cloud.podman.run("stop", "--time", "10", self.name, check=False)
        set_state(self.instance, "stopped")

    def start(self) -> None:
        self.cloud.podman.run("start", self.name)
        self.open_public_ports()
        set_state(self.instance, "running")

    def reboot(self) -> None:
        self.cloud.podman.run("restart", "--time", "10", self.name, check=False)

    def terminate(self) -> None:
        self.remove()
        self.cloud.terminated_at[self.id] = time.monotonic()
        set_state(self.instance, "terminated")
        self.cloud.forget(self.id)


class Cloud:
    """All instance bodies of one local cloud, and the loopback addresses they use."""

    def __init__(self, settings: config.Settings, log: Callable[[str], None]):
        self.settings = settings
        self.log = log
        self.podman = Podman(settings.containers_conf)
        self.bodies: dict[str, InstanceBody] = {}
        # When each instance reached "terminated" (monotonic clock): its network interface is
        # released a little later, as on AWS (awsrules).
        self.terminated_at: dict[str, float] = {}
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="instance")
        self._hosts = (str(ip) for ip in settings.public_ip_network.hosts())

    # --- addresses ----------------------------------------------------------------------
    def allocate_public_ip(self) -> str:
        """The next unused loopback address: moto calls this for every public IP it assigns.

        Addresses are not reused while the cloud runs, so a stale known_hosts entry or
        a client of a terminated instance can never reach a different instance.
        """
        with self._lock:
            for candidate in self._hosts:
                return candidate
        raise LocalCloudError(f"no free public address left in {self.settings.public_ip_network}")

    # --- lifecycle hooks, called from the patched moto backend ---------------------------
    def launched(self, instance: Any) -> None:
        body = InstanceBody(self, instance)
        with self._lock:
            self.bodies[instance.id] = body
        set_state(instance, "pending")
        self._pool.submit(body.launch)

    def _act(self, instance: Any, interim: str, action: str) -> None:
        body = self.bodies.get(instance.id)
        if body is None:
            return
        if interim:
            set_state(instance, interim)
        self._pool.submit(self._guarded, body, action)

    def _guarded(self, body: InstanceBody, action: str) -> None:
        try:
            getattr(body, action)()
        except Exception as exc:  # noqa: BLE001 - report, never kill the worker
            self.log(f"{body.id}: {action} failed: {exc}")

    def stopped(self, instance: Any) -> None:
        self._act(instance, "stopping", "stop")

    def started(self, instance: Any) -> None:
        self._act(instance, "pending", "start")

    def rebooted(self, instance: Any) -> None:
        self._act(instance, "", "reboot")

    def terminated(self, instance: Any) -> None:
        self._act(instance, "shutting-down", "terminate")

    def forget(self, instance_id: str) -> None:
        with self._lock:
            self.bodies.pop(instance_id, None)

    def cgroup_of(self, instance_id: str) -> str:
        """The cgroup path of an instance's container ('' when it has none running)."""
        body = self.bodies.get(instance_id)
        if body is None or not body.container_started:
            return ""
        return self.podman.run("inspect", body.name, "--format", "{{.State.CgroupPath}}", check=False).strip()

    def drop_connections(self, instance_id: str, port: int, count: int) -> int:
        """A fault: cut the connections to an instance's public port, and drop the next `count`."""
        body = self.bodies.get(instance_id)
        forwarder = next((f for f in body.forwarders if f.port == port), None) if body else None
        if forwarder is None:
            raise LocalCloudError(f"{instance_id} has no public address with port {port} open")
        return forwarder.drop(count)

    def console_output(self, instance_id: str) -> str:
        body = self.bodies.get(instance_id)
        if body is None or not body.container_started:
            return ""
        return self.podman.run("logs", body.name, check=False)

    # --- whole cloud ---------------------------------------------------------------------
    def sweep(self) -> int:
        """Remove every container and namespace of this home folder, known or orphaned."""
        removed = 0
        for container in self.podman.containers(config.LABEL, str(self.settings.home)):
            for name in container.get("Names", []):
                self.podman.remove(name)
                removed += 1
        for name in netns.list_names(self.settings.namespace_prefix + "-"):
            netns.delete(name)
        return removed

    def shutdown(self) -> int:
        self._pool.shutdown(wait=True, cancel_futures=True)
        for body in list(self.bodies.values()):
            body.close_public_ports()
            if body.metadata is not None:
                body.metadata.stop()
        self.bodies.clear()
        return self.sweep()

    def wait_idle(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and any(
            b.instance._state.name in ("pending", "stopping", "shutting-down") for b in self.bodies.values()
        ):
            time.sleep(0.1)
