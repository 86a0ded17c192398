"""Launch templates and Auto Scaling in the local cloud: what moto leaves out, put back as AWS does it.

- CreateLaunchTemplate keeps the template's own tags out of its launch data (moto adds them
  there, so the data never matches what was asked for).
- CreateLaunchTemplateVersion decodes UserData (moto keeps the text, and then fails every launch
  from that version) and starts from SourceVersion's data, as AWS does.
- DeleteLaunchTemplateVersions (moto lacks it): the default version cannot be deleted.
- A launch from a template applies its MetadataOptions (IMDSv2 required) and Monitoring
  (detailed monitoring); moto launches with its defaults. A template's root volume without a
  size takes the image's (moto refuses the launch).
- An Auto Scaling group launches into the zone of its subnets that has the fewest of its
  instances, and scales in from the zone that has the most (moto puts every instance in the
  first subnet and removes the first in its list).
- A capacity a scaling policy asks for stays within the group's minimum and maximum.
- EnableMetricsCollection without a list enables every group metric; DisableMetricsCollection
  (moto lacks it) disables some or all.
- PutScalingPolicy answers PolicyARN (moto answers PolicyArn, which boto3 drops).
- ExecutePolicy runs step scaling: the step that holds MetricValue - BreachThreshold.
- StartInstanceRefresh, DescribeInstanceRefreshes and CancelInstanceRefresh (moto lacks them): a
  rolling refresh is recorded here and carried out by the group keeper (groups.py), which replaces
  the instances that do not run the group's launch template version, one at a time.
"""

from __future__ import annotations

import copy
import threading
import uuid
from collections import Counter
from datetime import UTC, datetime
from typing import Any

GROUP_METRICS = (
    "GroupMinSize", "GroupMaxSize", "GroupDesiredCapacity", "GroupInServiceInstances",
    "GroupPendingInstances", "GroupStandbyInstances", "GroupTerminatingInstances", "GroupTotalInstances",
    "GroupInServiceCapacity", "GroupPendingCapacity", "GroupStandbyCapacity", "GroupTerminatingCapacity",
    "GroupTotalCapacity", "WarmPoolDesiredCapacity", "WarmPoolWarmedCapacity", "WarmPoolPendingCapacity",
    "WarmPoolTerminatingCapacity", "WarmPoolTotalCapacity", "GroupAndWarmPoolDesiredCapacity",
    "GroupAndWarmPoolTotalCapacity",
)  # fmt: skip
_installed = False


def install() -> None:
    """Patch moto's classes (once per process)."""
    global _installed
    if _installed:
        return
    _install_template_versions()
    _install_template_launches()
    _install_zone_balance()
    _install_metrics_collection()
    _install_policies()
    _install_refreshes()
    _installed = True


# --- launch templates ---------------------------------------------------------------------
def _install_template_versions() -> None:
    from moto.core.responses import ActionResult
    from moto.ec2.exceptions import InvalidLaunchTemplateVersionNotFound
    from moto.ec2.models.launch_templates import LaunchTemplate, LaunchTemplateBackend
    from moto.ec2.responses.launch_templates import LaunchTemplates
    from moto.ec2.utils import parse_user_data

    def create_launch_template_version(self: Any) -> ActionResult:
        template = self.ec2_backend.describe_launch_templates(
            template_names=[n] if (n := self._get_param("LaunchTemplateName")) else [],
            template_ids=[i] if (i := self._get_param("LaunchTemplateId")) else [],
        )[0]
        data: dict[str, Any] = {}
        if source := self._get_param("SourceVersion"):
            data = copy.deepcopy(template.get_version(source).data)
        given = self._get_param("LaunchTemplateData", {})
        if "UserData" in given:
            given["UserData"] = parse_user_data(self._get_param("LaunchTemplateData.UserData"))
        data.update(given)
        self.error_on_dryrun()
        version = template.create_version(data, self._get_param("VersionDescription"))
        return ActionResult({"LaunchTemplateVersion": _version_view(self, template, version)})

    def delete_launch_template_versions(self: Any) -> ActionResult:
        name, template_id = self._get_param("LaunchTemplateName"), self._get_param("LaunchTemplateId")
        template = self.ec2_backend.describe_launch_templates(
            template_names=[name] if name else [], template_ids=[template_id] if template_id else []
        )[0]
        self.error_on_dryrun()
        done, failed = [], []
        for number in self._get_param("LaunchTemplateVersion", []) or self._get_param("Versions", []):
            item = {"LaunchTemplateId": template.id, "LaunchTemplateName": template.name}
            deleted = template.__dict__.setdefault("deleted_versions", set())
            if not str(number).isdigit() or int(number) > len(template.versions) or int(number) in deleted:
                code, message = (
                    "launchTemplateVersionDoesNotExist",
                    "The specified launch template version does not exist.",
                )
            elif int(number) == template.default_version_number:
                code, message = "unexpectedError", "You cannot delete the default version of a launch template."
            else:
                deleted.add(int(number))
                done.append({**item, "VersionNumber": int(number)})
                continue
            failed.append({**item, "VersionNumber": number, "ResponseError": {"Code": code, "Message": message}})
        return ActionResult(
            {"SuccessfullyDeletedLaunchTemplateVersions": done, "UnsuccessfullyDeletedLaunchTemplateVersions": failed}
        )

    get_version = LaunchTemplate.get_version

    def _get_version(self: Any, num: Any) -> Any:
        if str(num).isdigit() and int(num) in self.__dict__.get("deleted_versions", ()):
            raise InvalidLaunchTemplateVersionNotFound(template_id=self.id, version=num)
        return get_version(self, num)

    describe_versions = LaunchTemplateBackend.describe_launch_template_versions

    def _describe_versions(self: Any, *args: Any, **kwargs: Any) -> list:
        found = describe_versions(self, *args, **kwargs)
        return [(t, v) for t, v in found if v.number not in t.__dict__.get("deleted_versions", ())]

    create_launch_template = LaunchTemplates.create_launch_template

    def _create_launch_template(self: Any) -> ActionResult:
        # moto copies the template's own tags (TagSpecification launch-template) into its launch data,
        # where AWS keeps only the resources the instances create: every comparison then differs.
        result = create_launch_template(self)
        template = self.ec2_backend.get_launch_template_by_name(self._get_param("LaunchTemplateName"))
        data = template.versions[0].data
        kept = [t for t in data.get("TagSpecifications") or [] if t.get("ResourceType") != "launch-template"]
        if kept:
            data["TagSpecifications"] = kept
        else:
            data.pop("TagSpecifications", None)
        return result

    LaunchTemplates.create_launch_template = _create_launch_template
    LaunchTemplates.create_launch_template_version = create_launch_template_version
    LaunchTemplates.delete_launch_template_versions = delete_launch_template_versions
    LaunchTemplate.get_version = _get_version
    LaunchTemplateBackend.describe_launch_template_versions = _describe_versions


def _version_view(response: Any, template: Any, version: Any) -> dict[str, Any]:
    return {
        "CreateTime": version.create_time,
        "CreatedBy": f"arn:{response.partition}:iam::{response.current_account}:root",
        "DefaultVersion": template.is_default(version),
        "LaunchTemplateData": version.data,
        "LaunchTemplateId": template.id,
        "LaunchTemplateName": template.name,
        "VersionDescription": version.description,
        "VersionNumber": version.number,
    }


ROOT_VOLUME_GIB = 8  # the local image's root volume, as an AMI's snapshot gives it on AWS


def template_launch_settings(data: dict[str, Any]) -> dict[str, Any]:
    """The RunInstances settings a template's data gives that moto does not take from it.

    A block device without VolumeSize or SnapshotId takes the AMI snapshot's size on AWS; moto
    refuses it ("must contain the parameter size/snapshot"), so it gets the local image's size. The
    primary network interface's Groups and AssociatePublicIpAddress apply, as on AWS.
    """
    settings: dict[str, Any] = {}
    mappings = copy.deepcopy(data.get("BlockDeviceMappings") or [])
    for mapping in mappings:
        ebs = mapping.get("Ebs")
        if isinstance(ebs, dict) and not ebs.get("VolumeSize") and not ebs.get("SnapshotId"):
            ebs["VolumeSize"] = ROOT_VOLUME_GIB
    if mappings:
        settings["block_device_mappings"] = mappings
    if options := data.get("MetadataOptions"):
        settings["metadata_options"] = {k: str(v) for k, v in options.items()}
    if str((data.get("Monitoring") or {}).get("Enabled", "")).lower() == "true":
        settings["monitoring_state"] = "enabled"
    # The primary network interface's security groups and public address (moto reads the template's
    # top-level SecurityGroupIds only).
    primary = next((n for n in data.get("NetworkInterfaces") or [] if int(n.get("DeviceIndex", 0)) == 0), None)
    if primary and primary.get("Groups"):
        settings["security_group_ids"] = list(primary["Groups"])
    if primary and "AssociatePublicIpAddress" in primary:
        settings["associate_public_ip"] = str(primary["AssociatePublicIpAddress"]).lower() == "true"
    return settings


def _install_template_launches() -> None:
    from moto.ec2.models import EC2Backend

    run_instances = EC2Backend.run_instances

    def _run_instances(self: Any, image: str, count: int, user_data: Any, groups: list[str], **kwargs: Any):
        if kwargs.get("launch_template"):
            data = self._get_template_from_args(kwargs["launch_template"]).data
            for key, value in template_launch_settings(data).items():
                # RunInstances' own settings win; moto fills in "disabled" and {} when none are given.
                if kwargs.get(key) in (None, {}, "disabled"):
                    kwargs[key] = value
        return run_instances(self, image, count, user_data, groups, **kwargs)

    EC2Backend.run_instances = _run_instances


# --- Auto Scaling groups ------------------------------------------------------------------
def zone_counts(group: Any) -> Counter:
    return Counter(state.instance.placement.zone for state in group.active_instances())


def next_subnet(subnets: list[tuple[str, str]], counts: Counter) -> str:
    """The subnet (id, zone) to launch into: the zone with the fewest instances, first listed on a tie."""
    return min(subnets, key=lambda subnet: (counts[subnet[1]], subnets.index(subnet)))[0]


def scale_in_order(instances: list[tuple[Any, str, int, Any]]) -> list[Any]:
    """AWS's default termination policy over (item, zone, template version, launch time):
    from the zone with the most instances, the oldest template version, then the oldest."""
    remaining = list(instances)
    order = []
    while remaining:
        counts = Counter(zone for _, zone, _, _ in remaining)
        zone = max(counts, key=lambda z: (counts[z], z))
        pick = min((i for i in remaining if i[1] == zone), key=lambda i: (i[2], i[3]))
        order.append(pick[0])
        remaining.remove(pick)
    return order


def _install_zone_balance() -> None:
    from moto.autoscaling.models import FakeAutoScalingGroup

    replace = FakeAutoScalingGroup.replace_autoscaling_group_instances
    set_desired = FakeAutoScalingGroup.set_desired_capacity

    def _replace(self: Any, count_needed: int, propagated_tags: dict[str, str]) -> None:
        subnet_ids = [s for s in (self.vpc_zone_identifier or "").split(",") if s]
        if len(subnet_ids) < 2:
            replace(self, count_needed, propagated_tags)
            return
        ec2 = self.autoscaling_backend.ec2_backend
        subnets = [(s.id, s.availability_zone) for s in ec2.describe_subnets(subnet_ids=subnet_ids)]
        identifier = self.vpc_zone_identifier
        try:
            for _ in range(count_needed):
                self.vpc_zone_identifier = next_subnet(subnets, zone_counts(self))
                replace(self, 1, dict(propagated_tags))
        finally:
            self.vpc_zone_identifier = identifier

    def _set_desired(self: Any, new_capacity: int | None) -> None:
        if new_capacity is not None and new_capacity < len(self.active_instances()):
            states = [
                (s, s.instance.placement.zone, _template_version(s.instance), s.instance.launch_time)
                for s in self.instance_states
                if not s.protected_from_scale_in
            ]
            first = scale_in_order(states)
            self.instance_states = first + [s for s in self.instance_states if s not in first]
        set_desired(self, new_capacity)

    FakeAutoScalingGroup.replace_autoscaling_group_instances = _replace
    FakeAutoScalingGroup.set_desired_capacity = _set_desired


def _template_version(instance: Any) -> int:
    tags = {t["key"]: t["value"] for t in instance.get_tags()} if hasattr(instance, "get_tags") else {}
    version = tags.get("aws:ec2launchtemplate:version", "0")
    return int(version) if str(version).isdigit() else 0


def _install_metrics_collection() -> None:
    from moto.autoscaling.responses import AutoScalingResponse
    from moto.core.responses import EmptyResult

    def enable_metrics_collection(self: Any) -> Any:
        group = self.autoscaling_backend.autoscaling_groups[self._get_param("AutoScalingGroupName")]
        wanted = self._get_param("Metrics") or list(GROUP_METRICS)
        group.metrics = list(dict.fromkeys([*group.metrics, *wanted]))
        return EmptyResult()

    def disable_metrics_collection(self: Any) -> Any:
        group = self.autoscaling_backend.autoscaling_groups[self._get_param("AutoScalingGroupName")]
        unwanted = self._get_param("Metrics") or []
        group.metrics = [m for m in group.metrics if unwanted and m not in unwanted]
        return EmptyResult()

    AutoScalingResponse.enable_metrics_collection = enable_metrics_collection
    AutoScalingResponse.disable_metrics_collection = disable_metrics_collection


# --- scaling policies ----------------------------------------------------------------------
class PolicyError(Exception):
    pass


def step_adjustment(steps: list[dict[str, Any]], difference: float) -> int:
    """The ScalingAdjustment of the step that holds difference (metric value - breach threshold).

    Above the threshold a step's lower bound is inclusive and its upper bound exclusive; below
    it the other way round (Application Auto Scaling's and EC2 Auto Scaling's documented rule).
    A missing bound is infinite.
    """
    for step in steps:
        low = step.get("MetricIntervalLowerBound")
        high = step.get("MetricIntervalUpperBound")
        low = float("-inf") if low in (None, "") else float(low)
        high = float("inf") if high in (None, "") else float(high)
        inside = low <= difference < high if difference >= 0 else low < difference <= high
        if inside:
            return int(step["ScalingAdjustment"])
    raise PolicyError(f"no step adjustment of the policy holds a metric {difference:+g} from the threshold")


def new_capacity(policy_type: str, adjustment_type: str, adjustment: int, current: int, low: int, high: int,
                 min_magnitude: int | None = None) -> int:  # fmt: skip
    """The desired capacity after one scaling adjustment, within the group's min and max."""
    if adjustment_type == "ExactCapacity":
        wanted = adjustment
    elif adjustment_type == "PercentChangeInCapacity":
        change = current * adjustment / 100.0
        # AWS rounds a change between -1 and 1 away from zero, others toward zero.
        step = (1 if change > 0 else -1) if 0 < abs(change) < 1 else int(change)
        if min_magnitude and abs(step) < min_magnitude:
            step = min_magnitude if step > 0 else -min_magnitude
        wanted = current + step
    else:
        wanted = current + adjustment
    return max(low, min(high, wanted))


def _install_policies() -> None:
    from moto.autoscaling.exceptions import ValidationError
    from moto.autoscaling.responses import AutoScalingResponse
    from moto.core.responses import ActionResult, EmptyResult

    put_scaling_policy = AutoScalingResponse.put_scaling_policy

    def _put_scaling_policy(self: Any) -> Any:
        result = put_scaling_policy(self)
        arn = result.result.get("PolicyArn") if hasattr(result, "result") else None
        return ActionResult({"PolicyARN": arn, "Alarms": []}) if arn else result

    def execute_policy(self: Any) -> Any:
        backend = self.autoscaling_backend
        policy = backend.policies.get(self._get_param("PolicyName"))
        if policy is None:
            raise ValidationError("Policy not found")
        group = backend.autoscaling_groups[policy.auto_scaling_group_name]
        if policy.policy_type == "StepScaling":
            value, threshold = self._get_param("MetricValue"), self._get_param("BreachThreshold")
            if value is None or threshold is None:
                raise ValidationError("MetricValue and BreachThreshold are required for a step scaling policy")
            try:
                adjustment = step_adjustment(policy.step_adjustments or [], float(value) - float(threshold))
            except PolicyError as exc:
                raise ValidationError(str(exc)) from None
        elif policy.policy_type == "SimpleScaling":
            adjustment = int(policy.scaling_adjustment or 0)
        else:
            raise ValidationError(f"A {policy.policy_type} policy cannot be executed")
        capacity = new_capacity(
            policy.policy_type, policy.adjustment_type or "ChangeInCapacity", adjustment,
            int(group.desired_capacity or 0), int(group.min_size), int(group.max_size),
            int(policy.min_adjustment_magnitude) if policy.min_adjustment_magnitude else None,
        )  # fmt: skip
        if capacity != group.desired_capacity:
            backend.set_desired_capacity(group.name, capacity)
            backend.update_attached_target_groups(group.name)
        return EmptyResult()

    AutoScalingResponse.put_scaling_policy = _put_scaling_policy
    AutoScalingResponse.execute_policy = execute_policy


# --- instance refreshes ----------------------------------------------------------------------
class Refreshes:
    """Every group's instance refreshes, newest first, safe to use from any thread."""

    ACTIVE = ("Pending", "InProgress", "Cancelling")

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.by_group: dict[tuple[str, str, str], list[dict[str, Any]]] = {}

    def start(self, key: tuple[str, str, str], preferences: dict[str, Any], instances: list[str]) -> dict[str, Any]:
        with self.lock:
            found = self.by_group.setdefault(key, [])
            if any(r["Status"] in self.ACTIVE for r in found):
                raise RefreshError(
                    "InstanceRefreshInProgress", f"An Instance Refresh is already in progress for {key[2]}."
                )
            refresh = {
                "InstanceRefreshId": str(uuid.uuid4()), "AutoScalingGroupName": key[2], "Status": "Pending",
                "StatusReason": "", "StartTime": datetime.now(UTC), "PercentageComplete": 0,
                "InstancesToUpdate": len(instances), "Preferences": preferences, "to_replace": list(instances),
            }  # fmt: skip
            found.insert(0, refresh)
            return refresh

    def active(self, key: tuple[str, str, str]) -> dict[str, Any] | None:
        with self.lock:
            return next((r for r in self.by_group.get(key, []) if r["Status"] in self.ACTIVE), None)

    def views(self, key: tuple[str, str, str], ids: list[str]) -> list[dict[str, Any]]:
        with self.lock:
            found = [r for r in self.by_group.get(key, []) if not ids or r["InstanceRefreshId"] in ids]
            return [{k: v for k, v in r.items() if k != "to_replace"} for r in found]


class RefreshError(Exception):
    pass


REFRESHES = Refreshes()


def _install_refreshes() -> None:
    from moto.autoscaling.exceptions import AutoscalingClientError, ValidationError
    from moto.autoscaling.responses import AutoScalingResponse
    from moto.core.responses import ActionResult

    class InProgressError(AutoscalingClientError):
        code = "InstanceRefreshInProgress"

    def _key(self: Any) -> tuple[str, str, str]:
        name = self._get_param("AutoScalingGroupName")
        if name not in self.autoscaling_backend.autoscaling_groups:
            raise ValidationError(f"AutoScalingGroup name not found - {name}")
        return (self.current_account, self.region, name)

    def start_instance_refresh(self: Any) -> Any:
        key = _key(self)
        if (self._get_param("Strategy") or "Rolling") != "Rolling":
            raise ValidationError("The only instance refresh strategy is Rolling.")
        preferences = self._get_param("Preferences") or {}
        preferences.setdefault("MinHealthyPercentage", 90)
        group = self.autoscaling_backend.autoscaling_groups[key[2]]
        instances = [s.instance.id for s in group.active_instances()]
        if str(preferences.get("SkipMatching", "")).lower() == "true" and group.ec2_launch_template is not None:
            # Only the instances that do not run the version the group launches now.
            wanted = group.ec2_launch_template.get_version(group.launch_template_version or "$Default").number
            instances = [s.instance.id for s in group.active_instances() if _template_version(s.instance) != wanted]
        try:
            refresh = REFRESHES.start(key, preferences, instances)
        except RefreshError as exc:
            raise InProgressError(str(exc)) from None
        return ActionResult({"InstanceRefreshId": refresh["InstanceRefreshId"]})

    def describe_instance_refreshes(self: Any) -> Any:
        key = _key(self)
        return ActionResult({"InstanceRefreshes": REFRESHES.views(key, self._get_param("InstanceRefreshIds") or [])})

    def cancel_instance_refresh(self: Any) -> Any:
        key = _key(self)
        refresh = REFRESHES.active(key)
        if refresh is None:
            raise ValidationError(f"No in progress or pending Instance Refresh found for Auto Scaling group {key[2]}")
        with REFRESHES.lock:
            refresh["Status"], refresh["EndTime"] = "Cancelled", datetime.now(UTC)
        return ActionResult({"InstanceRefreshId": refresh["InstanceRefreshId"]})

    AutoScalingResponse.start_instance_refresh = start_instance_refresh
    AutoScalingResponse.describe_instance_refreshes = describe_instance_refreshes
    AutoScalingResponse.cancel_instance_refresh = cancel_instance_refresh
