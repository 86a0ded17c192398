"""Rules AWS enforces and moto does not, so that what fails on a real account fails here too
(and one moto enforces that AWS does not).

- A mapping of the AMI's root device without a size takes the snapshot's size, as on AWS.

- An instance's CPU credit mode is the one RunInstances asked for, else AWS's default for its
  family (unlimited for T3, T3a and T4g, standard for T2); moto always answers "standard".
- RunInstances into an availability zone that does not offer the instance type fails with
  AWS's `Unsupported` error (moto launches any type in any zone).
- A network interface RunInstances creates is deleted when its instance is terminated unless
  the request said otherwise (moto keeps the primary one unless asked), and not at once: it
  stays, in use, until `eni_release_seconds` after the instance reached "terminated" (an
  instance tagged `localcloud:eni-release-seconds` keeps its own figure, so a test can make a
  slow release happen). DescribeNetworkInterfaces shows it meanwhile, and ModifyInstanceAttribute's
  groups apply to the primary interface, as on AWS.
- A security group cannot be deleted while a network interface uses it (an instance's, until
  released), nor while a load balancer uses it or another group's rule names it
  (`DependencyViolation`).
- An Application Load Balancer's attributes start at AWS's defaults, all of them
  (DescribeLoadBalancerAttributes; moto answers five, and amazon.aws.elb_application_lb fails
  reading one it does not find, such as routing.http.drop_invalid_header_fields.enabled).
- A target group stays in use for `elb_settle_seconds` after the listener that forwarded to it
  is deleted (with its load balancer or alone): DeleteTargetGroup fails with ResourceInUse, as
  AWS answers while it lets go (moto frees it at once).
- Elastic Load Balancing finds a certificate just imported into ACM only `elb_settle_seconds`
  later: CreateListener and ModifyListener answer CertificateNotFound until then.
- An ACM certificate a load balancer's listener uses cannot be deleted (`ResourceInUseException`),
  and DescribeCertificate's InUseBy names the balancers using it now (moto never removes them).
- The account's S3 Block Public Access (S3 Control) and the bucket's own are enforced: a
  public bucket policy is refused under BlockPublicPolicy, and anonymous reads that only a
  public policy allows are refused under RestrictPublicBuckets.
- Anonymous S3 requests are judged by the bucket policy (`s3gate.py`, a layer in front of moto).
- S3's AccessDenied names the action and the resource, as AWS does for requests of the
  bucket owner's own account.
- CreateTopic for a topic that exists, with tags it does not have, fails with AWS's
  `InvalidParameter` ("Topic already exists with different tags"); moto returns the topic.
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any

from . import config

# An instance's own time from "terminated" to its network interface's release (seconds).
ENI_RELEASE_TAG = "localcloud:eni-release-seconds"
PUBLIC_PRINCIPALS = ("*", {"AWS": "*"}, {"AWS": ["*"]})


# The local AMI's root snapshot, in GiB (as AWS's Debian and Amazon Linux AMIs).
ROOT_SNAPSHOT_GIB = 8


def install(settings: config.Settings, terminated_at: dict[str, float]) -> None:
    _install_root_device_mapping()
    _install_zone_offerings()
    _install_cpu_credits()
    _install_group_dependencies(settings, terminated_at)
    install_balancer_attributes()
    install_target_group_release(settings.elb_settle_seconds)
    install_certificate_rules(settings.elb_settle_seconds)
    install_topic_rules()
    _install_public_access_blocks()
    _install_s3_access_denied_message()


# --- EC2 ---------------------------------------------------------------------------------
def _launch_zone(backend: Any, kwargs: dict[str, Any]) -> str:
    """The zone moto will place the instance in, worked out as moto's Instance does."""
    subnet_id = kwargs.get("subnet_id")
    nics = kwargs.get("nics") or []
    if not subnet_id:
        subnet_id = next((nic["SubnetId"] for nic in nics if isinstance(nic, dict) and "SubnetId" in nic), None)
    if subnet_id:
        return backend.get_subnet(subnet_id).availability_zone
    return kwargs.get("placement") or f"{backend.region_name}a"


def zones_offering(region: str, instance_type: str) -> list[str]:
    from moto.ec2.models.instance_types import INSTANCE_TYPE_OFFERINGS

    offers = INSTANCE_TYPE_OFFERINGS["availability-zone"].get(region, [])
    return sorted({o["Location"] for o in offers if o["InstanceType"] == instance_type})


def _install_root_device_mapping() -> None:
    """AWS accepts a mapping of the AMI's root device without a size (encrypting the root volume,
    say): the volume takes the snapshot's size. moto asks for a size or a snapshot on every mapping."""
    from moto.ec2.responses.instances import InstanceResponse

    parse = InstanceResponse._parse_block_device_mapping

    def _parse_block_device_mapping(self: Any) -> list[dict[str, Any]]:
        images = self.ec2_backend.describe_images(ami_ids=[self._get_param("ImageId")])
        root = images[0].root_device_name if images else None
        for mapping in self._get_param("BlockDeviceMappings", []):
            ebs = mapping.get("Ebs")
            unsized = isinstance(ebs, dict) and not ebs.get("VolumeSize") and not ebs.get("SnapshotId")
            if mapping.get("DeviceName") == root and unsized:
                ebs["VolumeSize"] = ROOT_SNAPSHOT_GIB
        return parse(self)

    InstanceResponse._parse_block_device_mapping = _parse_block_device_mapping


def _install_zone_offerings() -> None:
    from moto.ec2.exceptions import EC2ClientError
    from moto.ec2.models import EC2Backend

    run_instances = EC2Backend.run_instances

    def _run_instances(self: Any, image_id: str, count: int, user_data: Any, security_group_names: Any, **kwargs: Any):
        instance_type = kwargs.get("instance_type") or "m1.small"
        zones = zones_offering(self.region_name, instance_type)
        zone = _launch_zone(self, kwargs)
        if zones and zone not in zones:
            raise EC2ClientError(
                "Unsupported",
                f"Your requested instance type ({instance_type}) is not supported in your requested Availability "
                f"Zone ({zone}). Please retry your request by not specifying an Availability Zone or choosing "
                f"{', '.join(zones)}.",
            )
        return run_instances(self, image_id, count, user_data, security_group_names, **kwargs)

    EC2Backend.run_instances = _run_instances


def default_cpu_credits(instance_type: str) -> str:
    """AWS's credit mode for a burstable type launched without a CreditSpecification."""
    return "standard" if instance_type.startswith("t2.") else "unlimited"


def _install_cpu_credits() -> None:
    from moto.core.responses import ActionResult
    from moto.ec2.models import EC2Backend
    from moto.ec2.responses.instances import InstanceResponse

    asked = threading.local()
    respond = InstanceResponse.run_instances
    run_instances = EC2Backend.run_instances

    def _respond(self: Any) -> Any:
        asked.credits = (self._get_param("CreditSpecification") or {}).get("CpuCredits")
        try:
            return respond(self)
        finally:
            asked.credits = None

    def _run_instances(self: Any, *args: Any, **kwargs: Any):
        reservation = run_instances(self, *args, **kwargs)
        for instance in reservation.instances:
            instance.cpu_credits = getattr(asked, "credits", None) or default_cpu_credits(instance.instance_type)
        return reservation

    def _describe(self: Any) -> ActionResult:
        instances = self.ec2_backend.describe_instance_credit_specifications(self._get_param("InstanceIds", []))
        return ActionResult(
            {
                "InstanceCreditSpecifications": [
                    {"InstanceId": i.id, "CpuCredits": getattr(i, "cpu_credits", default_cpu_credits(i.instance_type))}
                    for i in instances
                ]
            }
        )

    InstanceResponse.run_instances = _respond
    EC2Backend.run_instances = _run_instances
    InstanceResponse.describe_instance_credit_specifications = _describe


def _install_group_dependencies(settings: config.Settings, terminated_at: dict[str, float]) -> None:
    from moto.ec2.exceptions import DependencyViolationError
    from moto.ec2.models import EC2Backend
    from moto.ec2.models.instances import Instance

    def _release_seconds(instance: Any) -> float:
        tags = {tag["key"]: tag["value"] for tag in instance.get_tags()}
        try:
            return float(tags.get(ENI_RELEASE_TAG, settings.eni_release_seconds))
        except ValueError:
            return settings.eni_release_seconds

    def _released(instance: Any) -> bool:
        return instance._state.name == "terminated" and (
            time.monotonic() - terminated_at.get(instance.id, 0.0) >= _release_seconds(instance)
        )

    # AWS deletes the interfaces made at launch with the instance unless DeleteOnTermination is
    # false; moto's primary interface of a RunInstances without NetworkInterfaces keeps it false.
    prep_nics = Instance.prep_nics

    def _prep_nics(self: Any, nic_spec: list[dict[str, Any]], *args: Any, **kwargs: Any) -> None:
        kept = {
            int(spec.get("DeviceIndex", 0))
            for spec in nic_spec or []
            if spec.get("NetworkInterfaceId") or str(spec.get("DeleteOnTermination")).lower() == "false"
        }
        prep_nics(self, nic_spec, *args, **kwargs)
        for index, nic in self.nics.items():
            if int(index) not in kept:
                nic.delete_on_termination = True

    # moto deletes them in TerminateInstances; here they go once released (_release).
    terminate = Instance.terminate

    def _terminate(self: Any) -> Any:
        held = [nic for nic in self.nics.values() if nic.delete_on_termination]
        for nic in held:
            nic.delete_on_termination = False
        try:
            return terminate(self)
        finally:
            for nic in held:
                nic.delete_on_termination = True

    def _release(backend: Any) -> None:
        for eni in list(backend.enis.values()):
            instance = eni.instance
            if instance is not None and eni.delete_on_termination and _released(instance):
                eni.delete()

    get_all_network_interfaces = EC2Backend.get_all_network_interfaces

    def _get_all_network_interfaces(self: Any, *args: Any, **kwargs: Any) -> Any:
        _release(self)
        return get_all_network_interfaces(self, *args, **kwargs)

    # ModifyInstanceAttribute's groups are the primary interface's (moto changes the instance's only).
    modify_instance_security_groups = EC2Backend.modify_instance_security_groups

    def _modify_instance_security_groups(self: Any, instance_id: str, new_group_id_list: list[str]) -> Any:
        instance = modify_instance_security_groups(self, instance_id, new_group_id_list)
        primary = instance.nics.get(0)
        if primary is not None:
            primary._group_set = list(instance.security_groups)
        return instance

    def _users(backend: Any, group_id: str) -> list[str]:
        """The network interfaces that use the group."""
        _release(backend)
        return [eni.id for eni in list(backend.enis.values()) if group_id in {g.id for g in eni._group_set}]

    def _referenced(backend: Any, group_id: str) -> bool:
        """Whether another group's rule names this group, or a load balancer of the region uses it."""
        from moto.elbv2.models import elbv2_backends

        for other in backend.describe_security_groups():
            rules = list(other.ingress_rules) + list(other.egress_rules)
            if other.id != group_id and any((r.source_group or {}).get("GroupId") == group_id for r in rules):
                return True
        balancers = elbv2_backends[backend.account_id][backend.region_name].load_balancers.values()
        return any(group_id in (b.security_groups or []) for b in balancers)

    delete_security_group = EC2Backend.delete_security_group

    def _delete_security_group(self: Any, name: str | None = None, group_id: str | None = None):
        group = self.get_security_group_by_name_or_id(group_id or name)
        if group is not None and (_users(self, group.id) or _referenced(self, group.id)):
            raise DependencyViolationError(f"resource {group.id} has a dependent object")
        return delete_security_group(self, name=name, group_id=group_id)

    Instance.prep_nics = _prep_nics
    Instance.terminate = _terminate
    EC2Backend.get_all_network_interfaces = _get_all_network_interfaces
    EC2Backend.modify_instance_security_groups = _modify_instance_security_groups
    EC2Backend.delete_security_group = _delete_security_group


# --- ACM ---------------------------------------------------------------------------------
def forwarded_target_groups(listener: Any) -> list[str]:
    """The target groups a listener's default actions forward to."""
    found = []
    for action in getattr(listener, "default_actions", []) or []:
        data = getattr(action, "data", action) or {}
        if data.get("TargetGroupArn"):
            found.append(data["TargetGroupArn"])
        for group in (data.get("ForwardConfig") or {}).get("TargetGroups", []) or []:
            found.append(group.get("TargetGroupArn", ""))
    return [arn for arn in found if arn]


# DescribeLoadBalancerAttributes of a new Application Load Balancer on AWS.
ALB_DEFAULT_ATTRIBUTES = {
    "access_logs.s3.enabled": "false", "access_logs.s3.bucket": "", "access_logs.s3.prefix": "",
    "connection_logs.s3.enabled": "false", "connection_logs.s3.bucket": "", "connection_logs.s3.prefix": "",
    "client_keep_alive.seconds": "3600", "deletion_protection.enabled": "false",
    "idle_timeout.timeout_seconds": "60", "load_balancing.cross_zone.enabled": "true",
    "routing.http.desync_mitigation_mode": "defensive", "routing.http.drop_invalid_header_fields.enabled": "false",
    "routing.http.preserve_host_header.enabled": "false",
    "routing.http.x_amzn_tls_version_and_cipher_suite.enabled": "false",
    "routing.http.xff_client_port.enabled": "false", "routing.http.xff_header_processing.mode": "append",
    "routing.http2.enabled": "true", "waf.fail_open.enabled": "false", "zonal_shift.config.enabled": "false",
}  # fmt: skip


def install_balancer_attributes() -> None:
    from moto.elbv2.models import FakeLoadBalancer

    init = FakeLoadBalancer.__init__

    def _init(self: Any, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **kwargs)
        if self.type == "application":
            self.attrs = {**ALB_DEFAULT_ATTRIBUTES, **self.attrs, "load_balancing.cross_zone.enabled": "true"}

    FakeLoadBalancer.__init__ = _init


def install_target_group_release(seconds: float) -> None:
    from moto.elbv2.exceptions import ResourceInUseError
    from moto.elbv2.models import ELBv2Backend

    released: dict[str, float] = {}  # target group ARN: when its last listener went
    lock = threading.Lock()

    def _note(listeners: Any) -> None:
        with lock:
            for listener in listeners:
                for arn in forwarded_target_groups(listener):
                    released[arn] = time.monotonic()

    delete_load_balancer = ELBv2Backend.delete_load_balancer
    delete_listener = ELBv2Backend.delete_listener
    delete_target_group = ELBv2Backend.delete_target_group

    def _delete_load_balancer(self: Any, arn: str) -> None:
        balancer = self.load_balancers.get(arn)
        _note(list(balancer.listeners.values()) if balancer else [])
        delete_load_balancer(self, arn)

    def _delete_listener(self: Any, listener_arn: str) -> Any:
        listener = delete_listener(self, listener_arn)
        _note([listener])
        return listener

    def _delete_target_group(self: Any, target_group_arn: str) -> Any:
        with lock:
            since = released.get(target_group_arn)
        if since is not None and time.monotonic() - since < seconds:
            raise ResourceInUseError(
                f"The target group '{target_group_arn}' is currently in use by a listener or a rule"
            )
        return delete_target_group(self, target_group_arn)

    ELBv2Backend.delete_load_balancer = _delete_load_balancer
    ELBv2Backend.delete_listener = _delete_listener
    ELBv2Backend.delete_target_group = _delete_target_group


def listener_certificates(listener: Any) -> list[str]:
    """The certificate ARNs a moto listener names, its default first (moto keeps the default as
    `certificate` and the list as ARNs or as {"CertificateArn": ...} entries)."""
    named = [c if isinstance(c, str) else (c or {}).get("CertificateArn") for c in listener.certificates or []]
    return [arn for arn in dict.fromkeys([listener.certificate, *named]) if arn]


def certificate_users(account_id: str, region: str, arn: str) -> list[str]:
    """The ARNs of the load balancers whose listeners use certificate `arn`."""
    from moto.elbv2.models import elbv2_backends

    users = set()
    for balancer in list(elbv2_backends[account_id][region].load_balancers.values()):
        for listener in list(balancer.listeners.values()):
            if arn in listener_certificates(listener):
                users.add(balancer.arn)
    return sorted(users)


def install_certificate_rules(settle_seconds: float = 0.0) -> None:
    """ACM: a certificate in use cannot be deleted, and InUseBy is current (installed by install());
    Elastic Load Balancing finds a certificate only `settle_seconds` after its import
    (CertificateNotFound before, as AWS answers while the import propagates)."""
    from moto.acm.models import AWSCertificateManagerBackend, CertBundle
    from moto.core.exceptions import AWSError
    from moto.elbv2.exceptions import ELBClientError
    from moto.elbv2.models import ELBv2Backend

    imported: dict[str, float] = {}
    import_certificate = AWSCertificateManagerBackend.import_certificate
    create_listener = ELBv2Backend.create_listener
    modify_listener = ELBv2Backend.modify_listener

    def _import_certificate(self: Any, *args: Any, **kwargs: Any) -> str:
        arn = import_certificate(self, *args, **kwargs)
        imported[arn] = time.monotonic()
        return arn

    def _settled(arns: list[str]) -> None:
        for arn in arns:
            if arn and time.monotonic() - imported.get(arn, float("-inf")) < settle_seconds:
                raise ELBClientError("CertificateNotFound", f"Certificate '{arn}' not found")

    def _create_listener(self: Any, load_balancer_arn: str, protocol: str, port: str, ssl_policy: str,
                         certificate: str | None, *args: Any, **kwargs: Any) -> Any:  # fmt: skip
        _settled([certificate or ""])
        return create_listener(self, load_balancer_arn, protocol, port, ssl_policy, certificate, *args, **kwargs)

    def _modify_listener(self: Any, arn: str, *args: Any, **kwargs: Any) -> Any:
        certificates = kwargs.get("certificates") if "certificates" in kwargs else (args[3] if len(args) > 3 else None)
        _settled([c.get("CertificateArn", "") for c in certificates or []])
        return modify_listener(self, arn, *args, **kwargs)

    AWSCertificateManagerBackend.import_certificate = _import_certificate
    ELBv2Backend.create_listener = _create_listener
    ELBv2Backend.modify_listener = _modify_listener

    class ResourceInUseError(AWSError):
        TYPE = "ResourceInUseException"

    describe = CertBundle.describe
    delete_certificate = AWSCertificateManagerBackend.delete_certificate

    def _describe(self: Any) -> dict[str, Any]:
        _, _, _, region, account_id, _ = self.arn.split(":", 5)
        self.in_use_by = certificate_users(account_id, region, self.arn)
        return describe(self)

    def _delete_certificate(self: Any, arn: str) -> None:
        users = certificate_users(self.account_id, self.region_name, arn)
        if users:
            raise ResourceInUseError(f"Certificate {arn} is in use by {', '.join(users)}")
        return delete_certificate(self, arn)

    CertBundle.describe = _describe
    AWSCertificateManagerBackend.delete_certificate = _delete_certificate


# --- SNS ---------------------------------------------------------------------------------
def install_topic_rules() -> None:
    """SNS: CreateTopic is idempotent only when the tags it carries are the topic's (installed by install())."""
    from moto.sns.exceptions import InvalidParameterValue
    from moto.sns.models import SNSBackend

    if getattr(SNSBackend.create_topic, "localcloud", False):
        return
    create_topic = SNSBackend.create_topic

    def _create_topic(self: Any, name: str, attributes: Any = None, tags: dict[str, str] | None = None) -> Any:
        existing = next((t for t in list(self.topics.values()) if t.name == name), None)
        if existing is not None and any(existing._tags.get(key) != value for key, value in (tags or {}).items()):
            raise InvalidParameterValue("Invalid parameter: Tags Reason: Topic already exists with different tags")
        return create_topic(self, name, attributes, tags)

    _create_topic.localcloud = True  # type: ignore[attr-defined]
    SNSBackend.create_topic = _create_topic


# --- S3 ----------------------------------------------------------------------------------
def statements(policy: bytes | str | None) -> list[dict[str, Any]]:
    """A bucket policy's statements (none without a policy)."""
    if not policy:
        return []
    document = json.loads(policy if isinstance(policy, str) else policy.decode())
    found = document.get("Statement", [])
    return [found] if isinstance(found, dict) else list(found)


def is_public_policy(policy: bytes | str | None) -> bool:
    """Whether a bucket policy grants anything to everyone (Principal "*", no condition)."""
    return any(
        s.get("Effect") == "Allow" and s.get("Principal") in PUBLIC_PRINCIPALS and not s.get("Condition")
        for s in statements(policy)
    )


def _account_block(account_id: str) -> Any:
    from moto.s3control.models import s3control_backends

    return s3control_backends[account_id]["aws"].public_access_block


def effective_block(bucket: Any, setting: str) -> bool:
    """A Block Public Access setting as S3 applies it: the account's or the bucket's own."""
    account = _account_block(bucket.account_id)
    return bool(
        (account is not None and getattr(account, setting))
        or (bucket.public_access_block is not None and getattr(bucket.public_access_block, setting))
    )


def _install_public_access_blocks() -> None:
    from moto.iam.access_control import PermissionResult
    from moto.s3.exceptions import S3ClientError
    from moto.s3.models import FakeBucket, S3Backend

    put_bucket_policy = S3Backend.put_bucket_policy

    def _put_bucket_policy(self: Any, bucket_name: str, policy: bytes) -> None:
        bucket = self.get_bucket(bucket_name)
        if is_public_policy(policy) and effective_block(bucket, "block_public_policy"):
            raise S3ClientError(
                "AccessDenied",
                f"User is not authorized to perform: s3:PutBucketPolicy on resource: "
                f'"arn:aws:s3:::{bucket_name}" because public policies are blocked by the BlockPublicPolicy '
                "block public access setting.",
            )
        put_bucket_policy(self, bucket_name, policy)

    S3Backend.put_bucket_policy = _put_bucket_policy

    get_permission = FakeBucket.get_permission

    def _get_permission(self: Any, action: str, resource: str) -> Any:
        # moto asks the policy for "s3:HeadObject", an action IAM does not have: HEAD needs s3:GetObject.
        result = get_permission(self, "s3:GetObject" if action == "s3:HeadObject" else action, resource)
        if (
            result == PermissionResult.PERMITTED
            and is_public_policy(self.policy)
            and effective_block(self, "restrict_public_buckets")
        ):
            return PermissionResult.NEUTRAL
        return result

    FakeBucket.get_permission = _get_permission


def _install_s3_access_denied_message() -> None:
    from moto.iam.access_control import S3IAMRequest
    from moto.s3.exceptions import S3ClientError

    def _raise_access_denied(self: Any) -> None:
        bucket = self._data.get("BucketName", "")
        raise S3ClientError(
            "AccessDenied",
            f"User: {self._access_key.arn} is not authorized to perform: {self._action}"
            + (f' on resource: "arn:aws:s3:::{bucket}"' if bucket else "")
            + f" because no identity-based policy allows the {self._action} action",
        )

    S3IAMRequest._raise_access_denied = _raise_access_denied
