"""Network namespaces: one per instance, made before the container starts.

An instance's namespace has its loopback and an eth0 with the instance's private address
and MAC. The other end of eth0 is the instance's metadata namespace, which holds only the
link-local metadata address 169.254.169.254, as EC2's metadata service sits on the link
of every instance. Neither namespace forwards or has a default route: an instance can
reach its own metadata service and nothing else, and nothing it sends can leave the machine.
(The metadata address is not put on the instance's own loopback: a listener there would
keep the instance's web server from binding 0.0.0.0:80.)

The local cloud reaches into a namespace by creating sockets there (setns on one thread):
the metadata server listens in the metadata namespace, the port forwarders connect inside
the instance's.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import socket
import subprocess
from collections.abc import Iterator

from .errors import LocalCloudError

CLONE_NEWNET = 0x40000000
METADATA_ADDRESS = "169.254.169.254"
_libc = ctypes.CDLL(None, use_errno=True)


def _setns(fd: int) -> None:
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"setns failed: {os.strerror(err)}")


@contextlib.contextmanager
def entered(name: str) -> Iterator[None]:
    """Run the body with this thread inside the named network namespace."""
    own = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    try:
        target = os.open(f"/run/netns/{name}", os.O_RDONLY)
    except FileNotFoundError:
        os.close(own)
        raise LocalCloudError(f"network namespace {name} does not exist") from None
    try:
        _setns(target)
        try:
            yield
        finally:
            _setns(own)
    finally:
        os.close(target)
        os.close(own)


def socket_in(name: str) -> socket.socket:
    """A TCP socket that belongs to the named namespace (sockets keep the namespace they were made in)."""
    with entered(name):
        return socket.socket(socket.AF_INET, socket.SOCK_STREAM)


def listener_in(name: str, address: str, port: int) -> socket.socket:
    """A listening TCP socket bound inside the named namespace."""
    sock = socket_in(name)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((address, port))
    sock.listen(64)
    return sock


def _ip(*args: str) -> None:
    result = subprocess.run(["ip", *args], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise LocalCloudError(f"'ip {' '.join(args)}' failed: {result.stderr.strip()}")


def exists(name: str) -> bool:
    return os.path.exists(f"/run/netns/{name}")


def metadata_namespace(name: str) -> str:
    return f"{name}-md"


def create(name: str, private_ip: str, prefix_len: int, mac: str) -> None:
    """Make an instance's namespace and its metadata namespace, joined by eth0."""
    md = metadata_namespace(name)
    try:
        _ip("netns", "add", name)
        _ip("netns", "add", md)
        _ip("-n", name, "link", "set", "lo", "up")
        _ip("-n", md, "link", "set", "lo", "up")
        _ip("link", "add", "eth0", "netns", name, "type", "veth", "peer", "name", "imds0", "netns", md)
        _ip("-n", name, "link", "set", "eth0", "address", mac)
        _ip("-n", name, "addr", "add", f"{private_ip}/{prefix_len}", "dev", "eth0")
        _ip("-n", name, "link", "set", "eth0", "up")
        _ip("-n", md, "addr", "add", f"{METADATA_ADDRESS}/32", "dev", "imds0")
        _ip("-n", md, "link", "set", "imds0", "up")
        _ip("-n", md, "route", "add", f"{private_ip}/32", "dev", "imds0")
        _ip("-n", name, "route", "add", f"{METADATA_ADDRESS}/32", "dev", "eth0")
    except LocalCloudError:
        delete(name)
        raise


def delete(name: str) -> None:
    """Remove an instance's namespaces (the veth pair goes with them). Missing is fine."""
    for ns in (name, metadata_namespace(name)):
        if exists(ns):
            subprocess.run(["ip", "netns", "delete", ns], capture_output=True, check=False)


def list_names(prefix: str) -> list[str]:
    try:
        return sorted(n for n in os.listdir("/run/netns") if n.startswith(prefix))
    except FileNotFoundError:
        return []
