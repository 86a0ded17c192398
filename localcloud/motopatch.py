"""The local cloud's changes to moto, installed in the process that serves moto's API.

- Public IPs come from the local cloud's loopback range, never from moto's random public
  addresses (real internet addresses nothing here may connect to).
- The local instance image is an AMI in every region, published under Debian's public SSM
  parameter names, so the same AMI lookup works here and on AWS.
- RunInstances, StopInstances, StartInstances, RebootInstances and TerminateInstances act
  on the instances' containers; only the local AMI can be launched.
- GetConsoleOutput returns the instance's real console (systemd and cloud-init output).
- GetEbsDefaultKmsKeyId (moto lacks it): the account's default EBS key, `alias/aws/ebs` (as an
  ARN) until ModifyEbsDefaultKmsKeyId names a customer-managed key.
- MonitorInstances and UnmonitorInstances (moto lacks them) turn an instance's detailed monitoring
  on and off (DescribeInstances' Monitoring.State); the metrics keep the local cloud's interval.
- A response that changes which keys the answers show (DescribeKeyPairs' PublicKey) replaces
  its class's table of response transformers instead of adding to the one another thread may be
  reading: moto's first DescribeKeyPairs that finds a key pair grew that dict while a concurrent
  EC2 answer (deployment_info reads in threads) was being serialized from it, and the server
  answered 500 ("dictionary changed size during iteration").
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from . import config
from .runtime import Cloud, ami_id


def install(cloud: Cloud) -> None:
    _install_addresses(cloud)
    _install_ami(cloud)
    _install_lifecycle(cloud)
    _install_console(cloud)
    install_monitoring()
    install_ebs_default_key()
    install_response_transformers()


def _install_addresses(cloud: Cloud) -> None:
    from moto.ec2.models import elastic_ip_addresses, elastic_network_interfaces

    elastic_network_interfaces.random_public_ip = cloud.allocate_public_ip
    elastic_ip_addresses.random_ip = cloud.allocate_public_ip


def _install_ami(cloud: Cloud) -> None:
    from moto.ec2.models.amis import Ami, AmiBackend
    from moto.ssm.models import Parameter, ParameterDict

    image_id = ami_id()
    name = f"{config.AMI_NAME_PREFIX}-{image_id[4:16]}"
    created = dt.datetime.now(dt.UTC)
    load_amis = AmiBackend._load_amis

    def _load_amis(self: Any) -> None:
        load_amis(self)
        self.amis[image_id] = Ami(
            self,
            ami_id=image_id,
            name=name,
            description="Debian 12 (bookworm) for the local cloud: systemd, cloud-init, OpenSSH, Apache",
            owner_alias="localcloud",
            public=True,
            architecture="x86_64",
            virtualization_type="hvm",
            hypervisor="xen",
            root_device_type="ebs",
            root_device_name="/dev/xvda",
            creation_date=created,
            region_name=self.region_name,
        )

    AmiBackend._load_amis = _load_amis

    check_loading = ParameterDict._check_loading_status

    def _check_loading_status(self: Any, key: str) -> None:
        check_loading(self, key)
        if str(key or "").startswith("/aws/service/debian") and not getattr(self, "_localcloud_loaded", False):
            self._localcloud_loaded = True
            for param in config.DEBIAN_SSM_PARAMETERS:
                self[param].append(
                    Parameter(
                        account_id=self.account_id,
                        name=param,
                        value=image_id,
                        parameter_type="String",
                        description=None,
                        allowed_pattern=None,
                        keyid=None,
                        last_modified_date=created,
                        version=1,
                        data_type="aws:ec2:image",
                    )
                )

    ParameterDict._check_loading_status = _check_loading_status


def _install_lifecycle(cloud: Cloud) -> None:
    from moto.ec2.exceptions import EC2ClientError
    from moto.ec2.models import EC2Backend

    image_id = ami_id()
    run_instances = EC2Backend.run_instances

    def _run_instances(
        self: Any, image: str, count: int, user_data: Any, security_group_names: list[str], **kwargs: Any
    ):
        if image and image != image_id:
            raise EC2ClientError(
                "InvalidAMIID.Unsupported",
                f"The local cloud runs one image, its Debian 12 AMI {image_id} (SSM parameter "
                f"{config.DEBIAN_SSM_PARAMETERS[0]}); {image} cannot be launched here.",
            )
        reservation = run_instances(self, image, count, user_data, security_group_names, **kwargs)
        for instance in reservation.instances:
            cloud.launched(instance)
        return reservation

    EC2Backend.run_instances = _run_instances

    for method, hook in (
        ("stop_instances", cloud.stopped),
        ("start_instances", cloud.started),
        ("terminate_instances", cloud.terminated),
    ):
        _wrap_state_change(EC2Backend, method, hook)

    reboot_instances = EC2Backend.reboot_instances

    def _reboot_instances(self: Any, instance_ids: list[str]):
        instances = reboot_instances(self, instance_ids)
        for instance in instances:
            cloud.rebooted(instance)
        return instances

    EC2Backend.reboot_instances = _reboot_instances


def _wrap_state_change(backend_class: type, method: str, hook: Any) -> None:
    original = getattr(backend_class, method)

    def wrapper(self: Any, instance_ids: list[str]):
        results = original(self, instance_ids)
        for instance, previous in results:
            if previous.name != instance._state.name:
                hook(instance)
        return results

    setattr(backend_class, method, wrapper)


def _install_console(cloud: Cloud) -> None:
    from moto.core.responses import ActionResult
    from moto.core.utils import utcnow
    from moto.ec2.responses.general import General
    from moto.ec2.utils import Base64EncodedString

    def get_console_output(self: Any) -> ActionResult:
        instance = self.ec2_backend.get_instance(self._get_param("InstanceId"))
        output = cloud.console_output(instance.id)
        result: dict[str, Any] = {"InstanceId": instance.id, "Timestamp": utcnow()}
        if output:
            result["Output"] = Base64EncodedString.from_raw_string(output)
        return ActionResult(result)

    General.get_console_output = get_console_output


def ebs_default_key(backend: Any) -> str:
    """The account's default EBS key in a region (its ARN), as GetEbsDefaultKmsKeyId answers:
    the AWS managed key's alias ARN unless a customer-managed key was made the default."""
    aws_managed = f"arn:aws:kms:{backend.region_name}:{backend.account_id}:alias/aws/ebs"
    chosen = getattr(backend, "default_kms_key_id", "") or ""
    if not chosen:
        return aws_managed
    from moto.kms import kms_backends

    kms = kms_backends[backend.account_id][backend.region_name]
    if kms.alias_exists("alias/aws/ebs") and kms.describe_key("alias/aws/ebs").arn == chosen:
        return aws_managed
    return chosen


def install_ebs_default_key() -> None:
    from moto.core.responses import ActionResult
    from moto.ec2.responses.elastic_block_store import ElasticBlockStore

    def get_ebs_default_kms_key_id(self: Any) -> ActionResult:
        self.error_on_dryrun()
        return ActionResult({"KmsKeyId": ebs_default_key(self.ec2_backend)})

    ElasticBlockStore.get_ebs_default_kms_key_id = get_ebs_default_kms_key_id


def install_monitoring() -> None:
    """MonitorInstances and UnmonitorInstances, with AWS's answer: the state each instance moves to
    (AWS answers "pending" and "disabling" while it changes; here the change is done at once)."""
    from moto.core.responses import ActionResult
    from moto.ec2.responses.monitoring import Monitoring

    def _change(self: Any, state: str) -> ActionResult:
        self.error_on_dryrun()
        instances = [self.ec2_backend.get_instance(i) for i in self._get_param("InstanceIds", [])]
        for instance in instances:
            instance.monitoring_state = state
        return ActionResult(
            {"InstanceMonitorings": [{"InstanceId": i.id, "Monitoring": {"State": state}} for i in instances]}
        )

    Monitoring.monitor_instances = lambda self: _change(self, "enabled")
    Monitoring.unmonitor_instances = lambda self: _change(self, "disabled")


def install_response_transformers() -> None:
    """BaseResponse's _include_in_response and _exclude_from_response copy the transformer table
    (RESPONSE_KEY_PATH_TO_TRANSFORMER, a class attribute shared by every EC2 response) and set the
    copy on the response's class, so a serializer iterating the old table never sees it change."""
    from moto.core.responses import BaseResponse
    from moto.core.serialize import never_return

    def _set(self: Any, path: str, transform: Any) -> None:
        table = self.RESPONSE_KEY_PATH_TO_TRANSFORMER
        if table.get(path) is not transform:
            type(self).RESPONSE_KEY_PATH_TO_TRANSFORMER = {**table, path: transform}

    def _identity(value: Any) -> Any:
        return value

    BaseResponse._include_in_response = lambda self, path: _set(self, path, _identity)
    BaseResponse._exclude_from_response = lambda self, path: _set(self, path, never_return)
