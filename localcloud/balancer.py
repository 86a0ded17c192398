"""Application Load Balancers in the local cloud: a real balancer behind every ALB moto records.

- An internet-facing ALB gets a public (loopback) address of the local cloud, and its DNS name
  is that address, so a client, a browser or Ansible's uri module reaches it by DNSName as on AWS.
- Each HTTP listener whose default action forwards to a target group listens on that address and
  port; the ALB's security groups decide which clients may connect. An HTTPS listener does the
  same with TLS, with the certificate and key its CertificateArn names in ACM (moto's store: a
  re-imported certificate is served from the next connection on), and forwards plain HTTP. Every request goes to the
  next healthy target (round robin), into the instance's namespace, with X-Forwarded-For,
  -Proto and -Port; if no target is healthy it goes to any registered one (fail open); with none
  registered it answers 503, a target that does not answer 502, one too slow 504.
- The target's security groups must let the ALB in (a rule naming one of the ALB's groups, or a
  CIDR holding the ALB's address in the target's subnet), or health checks and requests time out.
- Health checks run for real on each target group's path, port, interval, timeout, matcher and
  thresholds; DescribeTargetHealth reports initial / healthy / unhealthy / draining / unused with
  AWS's reason codes. A new target is healthy after one passed check, as on AWS.
- RegisterTargets accepts a pending instance (moto refuses it; AWS registers an Auto Scaling
  group's instances while they launch).
"""

from __future__ import annotations

import hashlib
import http.client
import ipaddress
import itertools
import os
import ssl
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from . import netns
from .awsrules import listener_certificates
from .forward import ingress_allowed

HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade"}
REASONS = {
    "Elb.RegistrationInProgress": "Target registration is in progress",
    "Elb.InitialHealthChecking": "Initial health checks in progress",
    "Target.ResponseCodeMismatch": "Health checks failed with these codes: [{code}]",
    "Target.Timeout": "Request timed out",
    "Target.FailedHealthChecks": "Health checks failed",
    "Target.DeregistrationInProgress": "Target deregistration is in progress",
    "Target.NotInUse": "Target group is not configured to receive traffic from the load balancer",
    "Target.InvalidState": "Target is in the stopped state",
    "Target.NotRegistered": "Target is not registered to the target group",
}


def code_matches(matcher: str, code: int) -> bool:
    """Whether an HTTP code matches a target group's matcher ("200", "200-299", "200,302")."""
    for part in str(matcher or "200").split(","):
        low, _, high = part.strip().partition("-")
        if int(low) <= code <= int(high or low):
            return True
    return False


@dataclass
class Health:
    """One target's health in one target group."""

    state: str = "initial"
    reason: str = "Elb.RegistrationInProgress"
    code: int = 0
    passes: int = 0
    fails: int = 0
    next_check: float = 0.0
    checking: bool = False
    draining_until: float = 0.0
    registered: float = field(default_factory=time.monotonic)

    def record(self, ok: bool, reason: str, code: int, healthy_after: int, unhealthy_after: int) -> None:
        """One health check's result, under AWS's thresholds."""
        self.passes, self.fails = (self.passes + 1, 0) if ok else (0, self.fails + 1)
        if ok and (self.state == "initial" or self.passes >= healthy_after):
            self.state, self.reason = "healthy", ""
        elif not ok and self.fails >= unhealthy_after:
            self.state, self.reason, self.code = "unhealthy", reason, code
        elif self.state == "initial":
            self.reason = "Elb.InitialHealthChecking"

    def view(self) -> tuple[str, str | None, str | None]:
        if not self.reason:
            return self.state, None, None
        return self.state, self.reason, REASONS.get(self.reason, "").format(code=self.code)


class BalancerHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Frontend

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - BaseHTTPRequestHandler's name
        pass

    def _relay(self) -> None:
        frontend = self.server
        target = frontend.pick()
        if target is None:
            self._answer(503, "Service Temporarily Unavailable")
            return
        namespace, address, port = target
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
        client = self.client_address[0]
        forwarded = self.headers.get("X-Forwarded-For")
        headers["X-Forwarded-For"] = f"{forwarded}, {client}" if forwarded else client
        headers["X-Forwarded-Proto"] = "https" if frontend.tls else "http"
        headers["X-Forwarded-Port"] = str(frontend.port)
        connection = NamespaceConnection(namespace, address, port, timeout=frontend.idle_timeout)
        try:
            connection.request(self.command, self.path, body=body, headers=headers)
            answer = connection.getresponse()
            data = answer.read()
        except TimeoutError:
            self._answer(504, "Gateway Time-out")
            return
        except (OSError, http.client.HTTPException):
            self._answer(502, "Bad Gateway")
            return
        finally:
            connection.close()
        frontend.count(answer.status)
        self.send_response(answer.status, answer.reason)
        for key, value in answer.getheaders():
            if key.lower() not in HOP_BY_HOP and key.lower() != "content-length":
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _answer(self, status: int, text: str) -> None:
        self.server.count(status, elb=True)
        page = f"<html><body><center><h1>{status} {text}</h1></center></body></html>\n".encode()
        self.send_response(status, text)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(page)))
        self.send_header("Server", "awselb/2.0")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(page)

    do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _relay  # noqa: N815 - http.server's names


class NamespaceConnection(http.client.HTTPConnection):
    """An HTTP connection made from inside an instance's network namespace."""

    def __init__(self, namespace: str, host: str, port: int, timeout: float):
        super().__init__(host, port, timeout=timeout)
        self.namespace = namespace

    def connect(self) -> None:
        sock = netns.socket_in(self.namespace)
        sock.settimeout(self.timeout)
        sock.connect((self.host, self.port))
        self.sock = sock


class Frontend(ThreadingHTTPServer):
    """One listener of one load balancer: (address, port) -> the listener's target group."""

    daemon_threads = True

    def __init__(self, address: str, port: int, pick: Callable[[], Any], allowed: Callable[[str], bool],
                 count: Callable[..., None], log: Callable[[str], None],
                 tls: ssl.SSLContext | None = None, certificate: str = ""):  # fmt: skip
        self.pick, self.allowed, self.count, self.log = pick, allowed, count, log
        self.port = port
        self.idle_timeout = 60.0
        # An HTTPS listener's TLS context, and what identifies its certificate (ARN and digest).
        self.tls, self.certificate = tls, certificate
        super().__init__((address, port), BalancerHandler)

    def get_request(self) -> tuple[Any, Any]:
        connection, client = super().get_request()
        if self.tls is not None:
            # The handshake happens in the request's own thread, on its first read.
            connection = self.tls.wrap_socket(connection, server_side=True, do_handshake_on_connect=False)
        return connection, client

    def verify_request(self, request: Any, client_address: Any) -> bool:
        if self.allowed(client_address[0]):
            return True
        where = f"{client_address[0]} -> {self.server_address[0]}:{self.port}"
        self.log(f"refused {where}: no rule of the load balancer's security groups allows it")
        return False


def tls_context(certificate: bytes, key: bytes) -> ssl.SSLContext:
    """A server TLS context for a PEM certificate and key. ssl loads them only from files: a private
    temporary file (0600) each, removed at once."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    paths = []
    try:
        for content in (certificate, key):
            handle, path = tempfile.mkstemp(prefix="localcloud-alb-", suffix=".pem")
            paths.append(path)
            with os.fdopen(handle, "wb") as out:
                out.write(content)
        context.load_cert_chain(paths[0], paths[1])
    finally:
        for path in paths:
            os.unlink(path)
    return context


def node_address(subnet_cidr: str) -> str:
    """The address the ALB's node in a subnet uses toward targets (one AWS would not give an instance)."""
    network = ipaddress.ip_network(subnet_cidr, strict=False)
    return str(network.broadcast_address - 1)


class Balancers:
    """Every ALB's frontends and every target group's health checks, kept in step with moto."""

    TICK = 1.0

    def __init__(self, cloud: Any, log: Callable[[str], None]):
        self.cloud = cloud
        self.log = log
        self.health: dict[tuple[str, str], Health] = {}
        self.frontends: dict[tuple[str, int], Frontend] = {}
        self.counts: dict[str, dict[str, int]] = {}
        self._rotation: dict[str, itertools.count] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._checks = ThreadPoolExecutor(max_workers=8, thread_name_prefix="health")

    # --- moto patches ------------------------------------------------------------------------
    def install(self) -> None:
        from moto.elbv2.models import ELBv2Backend, FakeTargetGroup

        create = ELBv2Backend.create_load_balancer
        balancers = self

        def create_load_balancer(backend: Any, *args: Any, **kwargs: Any) -> Any:
            balancer = create(backend, *args, **kwargs)
            balancer.scheme = balancer.scheme or "internet-facing"  # AWS's default; moto leaves it empty
            if balancer.scheme == "internet-facing":
                balancer.dns_name = balancers.cloud.allocate_public_ip()
            return balancer

        def register(group: Any, targets: list[dict[str, Any]]) -> None:
            from moto.elbv2.exceptions import TargetNotRunning

            for target in targets:
                instance = group.ec2_backend.get_instance_by_id(target["Id"])
                if instance is not None and instance.state not in ("pending", "running"):
                    raise TargetNotRunning(instance_id=target["Id"])
                if target["Id"] not in group.targets:
                    with balancers._lock:
                        balancers.health[(group.arn, target["Id"])] = Health()
                group.targets[target["Id"]] = {"Id": target["Id"], "Port": target.get("Port", group.port)}
                group.deregistered_targets.pop(target["Id"], None)

        deregister = FakeTargetGroup.deregister

        def deregister_targets(group: Any, targets: list[dict[str, Any]]) -> None:
            deregister(group, targets)
            balancers._drain(group, [t["Id"] for t in targets])

        def health_for(group: Any, target: dict[str, Any], ec2_backend: Any) -> Any:
            from moto.elbv2.models import FakeHealthStatus

            known = group.targets.get(target["Id"]) or group.deregistered_targets.get(target["Id"])
            port = (known or target).get("Port", group.port)
            state, reason, text = balancers.target_state(group, target["Id"])
            return FakeHealthStatus(target["Id"], port, group.health_check_port, state, reason, text)

        from moto.autoscaling.models import AutoScalingBackend

        def update_attached_target_groups(backend: Any, group_name: str) -> None:
            # moto registers every instance it still lists, terminated ones too; AWS only live ones.
            group = backend.autoscaling_groups[group_name]
            live = [s.instance.id for s in group.instance_states if s.instance.state in ("pending", "running")]
            for arn in group.target_group_arns:
                if arn in backend.elbv2_backend.target_groups and live:
                    port = backend.elbv2_backend.target_groups[arn].port
                    backend.elbv2_backend.register_targets(arn, [{"Id": i, "Port": port} for i in live])

        AutoScalingBackend.update_attached_target_groups = update_attached_target_groups

        def describe_target_health(backend: Any, target_group_arn: str, targets: list[dict[str, Any]]) -> list:
            from moto.elbv2.exceptions import TargetGroupNotFoundError

            group = backend.target_groups.get(target_group_arn)
            if group is None:
                raise TargetGroupNotFoundError()
            if not targets:  # every registered target, and those still draining, as on AWS
                with balancers._lock:
                    draining = [
                        t for (arn, t), h in balancers.health.items() if arn == group.arn and h.state == "draining"
                    ]
                targets = list(group.targets.values()) + [
                    group.deregistered_targets.get(t, {"Id": t, "Port": group.port})
                    for t in draining
                    if t not in group.targets
                ]
            return [group.health_for(target, backend.ec2_backend) for target in targets]

        ELBv2Backend.create_load_balancer = create_load_balancer
        ELBv2Backend.describe_target_health = describe_target_health
        FakeTargetGroup.register = register
        FakeTargetGroup.deregister = deregister_targets
        FakeTargetGroup.health_for = health_for

    def target_state(self, group: Any, target_id: str) -> tuple[str, str | None, str | None]:
        with self._lock:
            health = self.health.get((group.arn, target_id))
        if health is None:
            return "unused", "Target.NotRegistered", REASONS["Target.NotRegistered"]
        if health.state == "draining":
            return health.view()
        instance = group.ec2_backend.get_instance_by_id(target_id)
        if instance is not None and instance.state == "stopped":
            return "unused", "Target.InvalidState", REASONS["Target.InvalidState"]
        if not group.load_balancer_arns:
            return "unused", "Target.NotInUse", REASONS["Target.NotInUse"]
        return health.view()

    def _drain(self, group: Any, target_ids: list[str]) -> None:
        delay = float(group.attributes.get("deregistration_delay.timeout_seconds", 300))
        with self._lock:
            for target_id in target_ids:
                health = self.health.setdefault((group.arn, target_id), Health())
                health.state, health.reason = "draining", "Target.DeregistrationInProgress"
                health.draining_until = time.monotonic() + delay

    # --- the loop ---------------------------------------------------------------------------
    def start(self) -> None:
        threading.Thread(target=self._loop, name="balancers", daemon=True).start()

    def stop(self) -> None:
        self._stop.set()
        self._checks.shutdown(wait=False, cancel_futures=True)
        for key in list(self.frontends):
            self._close(key)

    def _loop(self) -> None:
        while not self._stop.wait(self.TICK):
            try:
                self.tick()
            except Exception as exc:  # noqa: BLE001 - report, keep balancing
                self.log(f"balancers: {exc}")

    def backends(self) -> list[Any]:
        from moto.elbv2.models import elbv2_backends

        return [backend for regions in list(elbv2_backends.values()) for backend in list(regions.values())]

    def tick(self) -> None:
        wanted: dict[tuple[str, int], tuple[Any, Any, Any, Any]] = {}
        for backend in self.backends():
            for balancer in list(backend.load_balancers.values()):
                balancer.activate()
                for listener in list(balancer.listeners.values()):
                    group = self._forward_group(backend, listener)
                    if balancer.scheme != "internet-facing" or group is None:
                        continue
                    certificate = self._certificate(backend, listener) if listener.protocol == "HTTPS" else None
                    if listener.protocol == "HTTP" or certificate is not None:
                        wanted[(balancer.dns_name, int(listener.port))] = (backend, balancer, group, certificate)
            for group in list(backend.target_groups.values()):
                self._check_group(backend, group)
        for key in set(self.frontends) - set(wanted):
            self._close(key)
        for key, (backend, balancer, group, certificate) in wanted.items():
            identity = certificate[0] if certificate else ""
            if key in self.frontends and self.frontends[key].certificate != identity:
                self._close(key)  # a listener's certificate changed (or it became HTTPS)
            if key not in self.frontends:
                self._open(key, backend, balancer, group, certificate)
        self._forget_drained()

    def _close(self, key: tuple[str, int]) -> None:
        frontend = self.frontends.pop(key)
        frontend.shutdown()
        frontend.server_close()

    def _certificate(self, backend: Any, listener: Any) -> tuple[str, bytes, bytes] | None:
        """An HTTPS listener's default certificate from ACM, as (identity, certificate, key); None (and
        the listener not served) when ACM does not hold it. The leaf alone is served: moto appends a
        root of its own to every chain."""
        from moto.acm.models import acm_backends

        arn = next(iter(listener_certificates(listener)), None)
        bundle = acm_backends[backend.account_id][backend.region_name]._certificates.get(arn) if arn else None
        if bundle is None:
            return None
        return f"{arn} {hashlib.sha256(bundle.cert).hexdigest()}", bundle.cert, bundle.key

    @staticmethod
    def _forward_group(backend: Any, listener: Any) -> Any:
        for action in listener.default_actions:
            arns = [g["TargetGroupArn"] for g in (getattr(action, "ForwardConfig", None) or {}).get("TargetGroups", [])]
            arn = getattr(action, "TargetGroupArn", None) or (arns[0] if arns else None)
            if action.type == "forward" and arn in backend.target_groups:
                return backend.target_groups[arn]
        return None

    def _open(self, key: tuple[str, int], backend: Any, balancer: Any, group: Any,
              certificate: tuple[str, bytes, bytes] | None = None) -> None:  # fmt: skip
        address, port = key
        ec2 = group.ec2_backend
        arn = balancer.arn

        def allowed(client: str) -> bool:
            groups = [ec2.get_security_group_from_id(g) for g in balancer.security_groups]
            return ingress_allowed([g for g in groups if g], client, port)

        def pick() -> Any:
            current = backend.load_balancers.get(arn)
            listener_group = next(
                (self._forward_group(backend, li) for li in (current.listeners.values() if current else [])
                 if int(li.port) == port), None,
            )  # fmt: skip
            return self.pick(balancer, listener_group) if listener_group else None

        def count(status: int, elb: bool = False) -> None:
            key = f"HTTPCode_{'ELB' if elb else 'Target'}_{status // 100}XX_Count"
            with self._lock:
                counts = self.counts.setdefault(arn, {})
                counts["RequestCount"] = counts.get("RequestCount", 0) + 1
                counts[key] = counts.get(key, 0) + 1

        try:
            tls = tls_context(certificate[1], certificate[2]) if certificate else None
            frontend = Frontend(
                address, port, pick, allowed, count, self.log, tls, certificate[0] if certificate else ""
            )
        except (OSError, ssl.SSLError) as exc:
            self.log(f"load balancer {balancer.name}: cannot listen on {address}:{port}: {exc}")
            return
        threading.Thread(target=frontend.serve_forever, name=f"alb-{address}:{port}", daemon=True).start()
        self.frontends[key] = frontend
        self.log(f"load balancer {balancer.name} listening on {address}:{port}")

    def pick(self, balancer: Any, group: Any) -> tuple[str, str, int] | None:
        """The next target (namespace, private address, port), round robin over healthy ones."""
        candidates, healthy = [], []
        for target_id, target in sorted(group.targets.items()):
            body = self.cloud.bodies.get(target_id)
            # An instance on its way out gets no new requests: Auto Scaling deregisters (drains) an
            # instance before it terminates it.
            if body is None or body.instance.state != "running" or not self._reachable(balancer, group, body.instance):
                continue
            candidates.append((body.name, body.instance.private_ip, int(target["Port"])))
            if self.target_state(group, target_id)[0] == "healthy":
                healthy.append(candidates[-1])
        pool = healthy or candidates
        if not pool:
            return None
        turn = next(self._rotation.setdefault(group.arn, itertools.count()))
        return pool[turn % len(pool)]

    @staticmethod
    def _reachable(balancer: Any, group: Any, instance: Any) -> bool:
        """Whether the instance's security groups let the load balancer reach the traffic port."""
        subnet = next((s for s in balancer.subnets if s.availability_zone == instance.placement.zone), None)
        source = node_address(subnet.cidr_block) if subnet else "0.0.0.0"  # noqa: S104 - an address, not a bind
        return ingress_allowed(
            list(instance.security_groups), source, int(group.port or 80), frozenset(balancer.security_groups)
        )

    # --- health checks ------------------------------------------------------------------------
    def _check_group(self, backend: Any, group: Any) -> None:
        now = time.monotonic()
        # A target group and the balancers that use it belong to the same account and region.
        balancers = [backend.load_balancers[arn] for arn in group.load_balancer_arns if arn in backend.load_balancers]
        for target_id in list(group.targets):
            with self._lock:
                health = self.health.setdefault((group.arn, target_id), Health())
                if health.checking or health.next_check > now or health.state == "draining":
                    continue
                health.checking = True
                health.next_check = now + float(group.health_check_interval_seconds)
            self._checks.submit(self._check, group, target_id, balancers[0] if balancers else None)

    def _check(self, group: Any, target_id: str, balancer: Any) -> None:
        ok, reason, code = False, "Target.FailedHealthChecks", 0
        try:
            ok, reason, code = self.probe(group, target_id, balancer)
        except Exception as exc:  # noqa: BLE001 - a failed check, never a dead worker
            self.log(f"health check of {target_id}: {exc}")
        with self._lock:
            health = self.health.get((group.arn, target_id))
            if health is None:
                return
            health.checking = False
            if health.state != "draining":
                health.record(
                    ok, reason, code, int(group.healthy_threshold_count), int(group.unhealthy_threshold_count)
                )

    def probe(self, group: Any, target_id: str, balancer: Any) -> tuple[bool, str, int]:
        body = self.cloud.bodies.get(target_id)
        if body is None or body.instance.state != "running":
            return False, "Target.FailedHealthChecks", 0
        if balancer is not None and not self._reachable(balancer, group, body.instance):
            time.sleep(min(float(group.health_check_timeout_seconds), 2.0))
            return False, "Target.Timeout", 0
        port = group.health_check_port
        port = int(group.targets[target_id]["Port"]) if port in (None, "traffic-port") else int(port)
        connection = NamespaceConnection(
            body.name, body.instance.private_ip, port, float(group.health_check_timeout_seconds)
        )
        try:
            connection.request("GET", group.health_check_path or "/", headers={"User-Agent": "ELB-HealthChecker/2.0"})
            status = connection.getresponse().status
        except TimeoutError:
            return False, "Target.Timeout", 0
        except (OSError, http.client.HTTPException):
            return False, "Target.FailedHealthChecks", 0
        finally:
            connection.close()
        matcher = (group.matcher or {}).get("HttpCode", "200")
        return code_matches(matcher, status), "Target.ResponseCodeMismatch", status

    def _forget_drained(self) -> None:
        now = time.monotonic()
        with self._lock:
            for key, health in list(self.health.items()):
                if health.state == "draining" and health.draining_until <= now:
                    del self.health[key]

    def counters(self) -> dict[str, dict[str, int]]:
        """Each load balancer's request counts since the last call (for the metrics publisher)."""
        with self._lock:
            counts, self.counts = self.counts, {}
        return counts
