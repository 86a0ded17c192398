"""An instance's public address: TCP ports on a loopback address, carried into its namespace.

Each forwarder listens on the instance's public IP (a 127.x address) and port, asks the
instance's security groups whether the client may connect, as EC2 does, and then connects
to the same port on the instance's private address inside its namespace, as EC2 delivers a
public address's traffic to the instance's interface: a service that listens on the
instance's loopback only (127.0.0.1) does not answer from outside. It counts the bytes both
ways: those are the instance's NetworkIn and NetworkOut.

A fault (localcloud faults ssh-drop): drop() cuts every connection it carries at once, and closes
the next `count` connections as soon as they are accepted, as a network that drops does.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import threading
from collections.abc import Callable
from typing import Any

from . import netns


class Counters:
    """Bytes into and out of one instance, since it started."""

    def __init__(self) -> None:
        self.bytes_in = 0
        self.bytes_out = 0
        self.lock = threading.Lock()

    def add(self, inbound: int = 0, outbound: int = 0) -> None:
        with self.lock:
            self.bytes_in += inbound
            self.bytes_out += outbound


def ingress_allowed(groups: list[Any], client_ip: str, port: int, client_groups: frozenset[str] = frozenset()) -> bool:
    """Whether any ingress rule of these moto security groups lets client_ip reach TCP port:
    by a CIDR that holds the address, or by naming a security group the client is in
    (client_groups: a load balancer's groups)."""
    address = ipaddress.ip_address(client_ip)
    for group in groups:
        for rule in group.ingress_rules:
            if str(rule.ip_protocol) not in ("tcp", "6", "-1"):
                continue
            if str(rule.ip_protocol) != "-1":
                low = int(rule.from_port if rule.from_port is not None else 0)
                high = int(rule.to_port if rule.to_port is not None else 65535)
                if not low <= port <= high:
                    continue
            cidr = (rule.ip_range or {}).get("CidrIp")
            if cidr and address in ipaddress.ip_network(cidr, strict=False):
                return True
            if (rule.source_group or {}).get("GroupId") in client_groups:
                return True
    return False


class Forwarder:
    """Listens on (public_ip, port) and relays allowed connections to (private_ip, port) in the namespace."""

    def __init__(
        self,
        public_ip: str,
        port: int,
        namespace: str,
        private_ip: str,
        get_groups: Callable[[], list[Any]],
        counters: Counters,
        log: Callable[[str], None],
    ):
        self.public_ip = public_ip
        self.port = port
        self.namespace = namespace
        self.private_ip = private_ip
        self.get_groups = get_groups
        self.counters = counters
        self.log = log
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((public_ip, port))
        self._sock.listen(128)
        self._closed = False
        self._live: set[socket.socket] = set()
        self._to_drop = 0
        self._lock = threading.Lock()

    def start(self) -> None:
        threading.Thread(target=self._accept_loop, name=f"fwd-{self.public_ip}:{self.port}", daemon=True).start()

    def close(self) -> None:
        self._closed = True
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)
        self._sock.close()

    def drop(self, count: int) -> int:
        """Cut the live connections now and refuse the next `count`; how many were cut."""
        with self._lock:
            live, self._live = list(self._live), set()
            self._to_drop = count
        for connection in live:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        self.log(f"fault: {self.public_ip}:{self.port} dropped {len(live)} connection(s), drops the next {count}")
        return len(live)

    def _accept_loop(self) -> None:
        while not self._closed:
            try:
                client, (client_ip, _) = self._sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client, client_ip), daemon=True).start()

    def _serve(self, client: socket.socket, client_ip: str) -> None:
        with self._lock:
            dropping, self._to_drop = self._to_drop > 0, max(0, self._to_drop - 1)
        if dropping:
            self.log(f"fault: {self.public_ip}:{self.port} dropped a connection from {client_ip}")
            client.close()
            return
        if not ingress_allowed(self.get_groups(), client_ip, self.port):
            self.log(f"refused {client_ip} -> {self.public_ip}:{self.port}: no security group rule allows it")
            client.close()
            return
        try:
            upstream = netns.socket_in(self.namespace)
            upstream.settimeout(5)
            upstream.connect((self.private_ip, self.port))
            upstream.settimeout(None)
        except OSError as exc:
            self.log(f"{self.public_ip}:{self.port}: nothing answers inside the instance ({exc})")
            client.close()
            return
        with self._lock:
            self._live.add(client)
        done = threading.Barrier(2, action=lambda: (self._live.discard(client), client.close(), upstream.close()))
        threading.Thread(target=self._pump, args=(client, upstream, True, done), daemon=True).start()
        self._pump(upstream, client, False, done)

    def _pump(self, src: socket.socket, dst: socket.socket, inbound: bool, done: threading.Barrier) -> None:
        """Copy one direction until it ends; the second pump to finish closes both sockets."""
        try:
            while data := src.recv(65536):
                dst.sendall(data)
                self.counters.add(inbound=len(data)) if inbound else self.counters.add(outbound=len(data))
        except OSError:
            pass
        with contextlib.suppress(OSError):
            dst.shutdown(socket.SHUT_WR)
        done.wait()
