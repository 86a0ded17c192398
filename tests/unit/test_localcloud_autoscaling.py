"""The local cloud's launch template and Auto Scaling patches (localcloud/autoscaling.py), each
against moto in this process with the patch installed: every case fails on plain moto."""

from __future__ import annotations

import base64
from collections import Counter

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from localcloud import autoscaling

REGION = "eu-west-1"
USER_DATA = base64.b64encode(b"#cloud-config\npackage_update: true\n").decode()


@pytest.fixture
def aws():
    autoscaling.install()
    with mock_aws():
        ec2 = boto3.client("ec2", region_name=REGION)
        image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
        subnets = ec2.describe_subnets(Filters=[{"Name": "default-for-az", "Values": ["true"]}])["Subnets"]
        yield {
            "ec2": ec2,
            "asg": boto3.client("autoscaling", region_name=REGION),
            "image": image,
            "subnets": sorted(subnets, key=lambda s: s["AvailabilityZone"]),
        }


def template(aws, **data):
    found = {"ImageId": aws["image"], "InstanceType": "t3.nano", "UserData": USER_DATA, **data}
    return aws["ec2"].create_launch_template(LaunchTemplateName="web-lt", LaunchTemplateData=found)["LaunchTemplate"]


def group(aws, capacity=2, subnets=3, maximum=6):
    template(aws)
    aws["asg"].create_auto_scaling_group(
        AutoScalingGroupName="web", LaunchTemplate={"LaunchTemplateName": "web-lt", "Version": "$Latest"},
        MinSize=1, MaxSize=maximum, DesiredCapacity=capacity,
        VPCZoneIdentifier=",".join(s["SubnetId"] for s in aws["subnets"][:subnets]),
    )  # fmt: skip


def instances(aws):
    found = aws["asg"].describe_auto_scaling_groups(AutoScalingGroupNames=["web"])["AutoScalingGroups"][0]
    return found["Instances"], found["DesiredCapacity"]


def test_new_version_decodes_user_data_and_inherits_its_source(aws):
    template(aws, MetadataOptions={"HttpTokens": "required"})
    version = aws["ec2"].create_launch_template_version(
        LaunchTemplateName="web-lt", SourceVersion="1", LaunchTemplateData={"UserData": USER_DATA}
    )["LaunchTemplateVersion"]
    assert version["VersionNumber"] == 2
    assert version["LaunchTemplateData"]["MetadataOptions"]["HttpTokens"] == "required"
    reservation = aws["ec2"].run_instances(
        MinCount=1, MaxCount=1, LaunchTemplate={"LaunchTemplateName": "web-lt", "Version": "2"}
    )
    attribute = aws["ec2"].describe_instance_attribute(
        InstanceId=reservation["Instances"][0]["InstanceId"], Attribute="userData"
    )
    assert base64.b64decode(attribute["UserData"]["Value"]).startswith(b"#cloud-config")


def test_template_metadata_options_and_monitoring_apply_at_launch(aws):
    template(
        aws, MetadataOptions={"HttpTokens": "required", "HttpPutResponseHopLimit": 1}, Monitoring={"Enabled": True}
    )
    launched = aws["ec2"].run_instances(MinCount=1, MaxCount=1, LaunchTemplate={"LaunchTemplateName": "web-lt"})
    instance = launched["Instances"][0]
    assert instance["MetadataOptions"]["HttpTokens"] == "required"
    assert instance["Monitoring"]["State"] == "enabled"


def test_a_template_s_network_interface_gives_the_group_s_instances_their_groups_and_address(aws):
    group_id = aws["ec2"].create_security_group(GroupName="web-web", Description="web")["GroupId"]
    interface = {"DeviceIndex": 0, "AssociatePublicIpAddress": True, "DeleteOnTermination": True, "Groups": [group_id]}
    template(aws, NetworkInterfaces=[interface])
    aws["asg"].create_auto_scaling_group(
        AutoScalingGroupName="web", LaunchTemplate={"LaunchTemplateName": "web-lt", "Version": "$Latest"},
        MinSize=1, MaxSize=1, DesiredCapacity=1, VPCZoneIdentifier=aws["subnets"][0]["SubnetId"],
    )  # fmt: skip
    member = instances(aws)[0][0]["InstanceId"]
    described = aws["ec2"].describe_instances(InstanceIds=[member])["Reservations"][0]["Instances"][0]
    assert [g["GroupId"] for g in described["SecurityGroups"]] == [group_id], "moto alone: the default group"
    assert described.get("PublicIpAddress")


def test_delete_versions_keeps_the_default(aws):
    template(aws)
    aws["ec2"].create_launch_template_version(LaunchTemplateName="web-lt", SourceVersion="1", LaunchTemplateData={})
    answer = aws["ec2"].delete_launch_template_versions(LaunchTemplateName="web-lt", Versions=["1", "2", "7"])
    assert [v["VersionNumber"] for v in answer["SuccessfullyDeletedLaunchTemplateVersions"]] == [2]
    failed = {
        v["VersionNumber"]: v["ResponseError"]["Code"] for v in answer["UnsuccessfullyDeletedLaunchTemplateVersions"]
    }
    assert failed == {1: "unexpectedError", 7: "launchTemplateVersionDoesNotExist"}
    left = aws["ec2"].describe_launch_template_versions(LaunchTemplateName="web-lt")["LaunchTemplateVersions"]
    assert [v["VersionNumber"] for v in left] == [1]
    with pytest.raises(ClientError, match="VersionNotFound"):
        aws["ec2"].describe_launch_template_versions(LaunchTemplateName="web-lt", Versions=["2"])


def test_group_spreads_over_zones_and_scales_in_from_the_fullest(aws):
    group(aws, capacity=4, subnets=2)
    found, _ = instances(aws)
    assert Counter(i["AvailabilityZone"] for i in found) == Counter(
        {z["AvailabilityZone"]: 2 for z in aws["subnets"][:2]}
    )
    aws["asg"].set_desired_capacity(AutoScalingGroupName="web", DesiredCapacity=5)
    aws["asg"].set_desired_capacity(AutoScalingGroupName="web", DesiredCapacity=2)
    found, _ = instances(aws)
    assert sorted(Counter(i["AvailabilityZone"] for i in found).values()) == [1, 1]


def test_metrics_collection_all_then_none(aws):
    group(aws)
    aws["asg"].enable_metrics_collection(AutoScalingGroupName="web", Granularity="1Minute")
    metrics = aws["asg"].describe_auto_scaling_groups()["AutoScalingGroups"][0]["EnabledMetrics"]
    assert {"GroupInServiceInstances", "GroupDesiredCapacity"} <= {m["Metric"] for m in metrics}
    aws["asg"].disable_metrics_collection(AutoScalingGroupName="web", Metrics=["GroupDesiredCapacity"])
    metrics = aws["asg"].describe_auto_scaling_groups()["AutoScalingGroups"][0]["EnabledMetrics"]
    assert "GroupDesiredCapacity" not in {m["Metric"] for m in metrics} and metrics
    aws["asg"].disable_metrics_collection(AutoScalingGroupName="web")
    assert aws["asg"].describe_auto_scaling_groups()["AutoScalingGroups"][0].get("EnabledMetrics", []) == []


STEPS = [
    {"MetricIntervalLowerBound": 0, "MetricIntervalUpperBound": 20, "ScalingAdjustment": 1},
    {"MetricIntervalLowerBound": 20, "ScalingAdjustment": 2},
]


def test_step_policy_answers_its_arn_and_runs_the_step_that_holds_the_value(aws):
    group(aws, capacity=2, maximum=5)
    policy = aws["asg"].put_scaling_policy(
        AutoScalingGroupName="web", PolicyName="out", PolicyType="StepScaling",
        AdjustmentType="ChangeInCapacity", StepAdjustments=STEPS,
    )  # fmt: skip
    assert policy["PolicyARN"].startswith("arn:aws:autoscaling:")
    aws["asg"].execute_policy(AutoScalingGroupName="web", PolicyName="out", MetricValue=75, BreachThreshold=60)
    assert instances(aws)[1] == 3
    aws["asg"].execute_policy(AutoScalingGroupName="web", PolicyName="out", MetricValue=95, BreachThreshold=60)
    assert instances(aws)[1] == 5
    aws["asg"].execute_policy(AutoScalingGroupName="web", PolicyName="out", MetricValue=95, BreachThreshold=60)
    assert instances(aws)[1] == 5, "the group's maximum holds"
    with pytest.raises(ClientError, match="MetricValue"):
        aws["asg"].execute_policy(AutoScalingGroupName="web", PolicyName="out")


@pytest.mark.parametrize(("difference", "adjustment"), [(0, 1), (19.9, 1), (20, 2), (500, 2)])
def test_step_bounds_above_the_threshold(difference, adjustment):
    assert autoscaling.step_adjustment(STEPS, difference) == adjustment


def test_step_bounds_below_the_threshold():
    steps = [
        {"MetricIntervalUpperBound": -10, "ScalingAdjustment": -2},
        {"MetricIntervalLowerBound": -10, "MetricIntervalUpperBound": 0, "ScalingAdjustment": -1},
    ]
    assert autoscaling.step_adjustment(steps, -10) == -2
    assert autoscaling.step_adjustment(steps, -3) == -1
    with pytest.raises(autoscaling.PolicyError):
        autoscaling.step_adjustment(steps, 5)


@pytest.mark.parametrize(
    ("kind", "adjustment", "current", "expected"),
    [("ChangeInCapacity", -3, 2, 1), ("ExactCapacity", 9, 2, 6), ("PercentChangeInCapacity", 10, 2, 3),
     ("PercentChangeInCapacity", 50, 5, 6), ("PercentChangeInCapacity", -50, 3, 2)],
)  # fmt: skip
def test_new_capacity_rounds_and_stays_in_bounds(kind, adjustment, current, expected):
    assert autoscaling.new_capacity("StepScaling", kind, adjustment, current, 1, 6) == expected


def test_a_template_root_volume_without_size_takes_the_images(aws):
    template(
        aws, BlockDeviceMappings=[{"DeviceName": "/dev/xvda", "Ebs": {"Encrypted": True, "DeleteOnTermination": True}}]
    )
    launched = aws["ec2"].run_instances(MinCount=1, MaxCount=1, LaunchTemplate={"LaunchTemplateName": "web-lt"})
    volume_id = launched["Instances"][0]["BlockDeviceMappings"][0]["Ebs"]["VolumeId"]
    volume = aws["ec2"].describe_volumes(VolumeIds=[volume_id])["Volumes"][0]
    assert (volume["Size"], volume["Encrypted"]) == (autoscaling.ROOT_VOLUME_GIB, True)


def test_the_templates_own_tags_stay_out_of_its_launch_data(aws):
    aws["ec2"].create_launch_template(
        LaunchTemplateName="web-lt",
        LaunchTemplateData={
            "ImageId": aws["image"],
            "TagSpecifications": [{"ResourceType": "instance", "Tags": [{"Key": "A", "Value": "1"}]}],
        },
        TagSpecifications=[{"ResourceType": "launch-template", "Tags": [{"Key": "Deployment", "Value": "d"}]}],
    )
    version = aws["ec2"].describe_launch_template_versions(LaunchTemplateName="web-lt")["LaunchTemplateVersions"][0]
    assert [t["ResourceType"] for t in version["LaunchTemplateData"]["TagSpecifications"]] == ["instance"]
    described = aws["ec2"].describe_launch_templates(LaunchTemplateNames=["web-lt"])["LaunchTemplates"][0]
    assert described["Tags"] == [{"Key": "Deployment", "Value": "d"}]


def test_instance_refreshes_are_recorded_one_at_a_time(aws):
    group(aws, capacity=2)
    started = aws["asg"].start_instance_refresh(AutoScalingGroupName="web", Preferences={"SkipMatching": False})
    refreshes = aws["asg"].describe_instance_refreshes(AutoScalingGroupName="web")["InstanceRefreshes"]
    assert [(r["InstanceRefreshId"], r["Status"], r["InstancesToUpdate"]) for r in refreshes] == [
        (started["InstanceRefreshId"], "Pending", 2)
    ]
    assert refreshes[0]["Preferences"]["MinHealthyPercentage"] == 90, "AWS's default"
    with pytest.raises(ClientError, match="InstanceRefreshInProgress"):
        aws["asg"].start_instance_refresh(AutoScalingGroupName="web")
    aws["asg"].cancel_instance_refresh(AutoScalingGroupName="web")
    assert (
        aws["asg"].describe_instance_refreshes(AutoScalingGroupName="web")["InstanceRefreshes"][0]["Status"]
        == "Cancelled"
    )
    # Every instance runs the group's template version: skipping matching ones leaves none to update.
    matching = aws["asg"].start_instance_refresh(AutoScalingGroupName="web", Preferences={"SkipMatching": True})
    found = aws["asg"].describe_instance_refreshes(
        AutoScalingGroupName="web", InstanceRefreshIds=[matching["InstanceRefreshId"]]
    )
    assert found["InstanceRefreshes"][0]["InstancesToUpdate"] == 0
