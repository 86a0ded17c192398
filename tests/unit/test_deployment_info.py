"""library/deployment_info.py against moto's server: one read of what a deployment has in AWS."""

from __future__ import annotations

import contextlib
import hashlib
import json
import socket
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import boto3
import pytest

ACCOUNT = "123456789012"
MANAGED_BY = "ansible-aws-webserver"


def _without_account_prefix(request, **_kwargs):
    request.url = request.url.replace(f"//{ACCOUNT}.", "//", 1)


@pytest.fixture
def s3control(moto_endpoint):
    client = boto3.client(
        "s3control",
        endpoint_url=moto_endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    # As the module does: S3 Control's account-ID host prefix cannot resolve on an address.
    client.meta.events.register("before-sign.s3-control.*", _without_account_prefix)
    yield client
    client.delete_public_access_block(AccountId=ACCOUNT)


def tags(name: str) -> list[dict[str, str]]:
    return [{"Key": "Deployment", "Value": name}, {"Key": "ManagedBy", "Value": MANAGED_BY}]


@pytest.fixture
def name() -> str:
    return f"d{uuid.uuid4().hex[:8]}"


def test_nothing_yet_is_reported_empty_with_the_account_and_the_default_vpc(run_module, name):
    rc, result = run_module(
        "deployment_info", name=name, managed_by=MANAGED_BY, vpc=True, key_name=f"{name}-key",
        security_group=f"{name}-web", instance_states=["pending", "running"],
        alarm_names=[f"{name}-high-cpu"], topic_name=f"{name}-alarms", dashboard_name=name,
    )  # fmt: skip
    assert rc == 0, result
    assert result["changed"] is False
    assert (result["account"], result["partition"]) == (ACCOUNT, "aws")
    assert result["vpc_id"].startswith("vpc-")
    zones = [s["availability_zone"] for s in result["subnets"]]
    assert zones == sorted(zones) and len(zones) >= 2
    assert result["key_pair"] == {} and result["security_group"] == {} and result["instances"] == []
    assert result["bucket"] == {
        "name": f"aaw-{name}-{ACCOUNT}-us-east-1", "exists": False, "accessible": False, "tags": {}
    }  # fmt: skip
    assert (result["alarms"], result["topic"], result["dashboard"]) == ({}, {}, False)
    assert "ListTopics" not in result["api_calls_by_operation"]  # an absent topic: GetTopicAttributes' NotFound
    # The default subnets name their VPC: no DescribeVpcs.
    assert result["api_calls_by_operation"]["DescribeSubnets"] == 1
    assert "DescribeVpcs" not in result["api_calls_by_operation"]


def test_a_default_vpc_without_default_subnets_is_still_found(run_module, moto_client):
    region = "eu-north-1"  # a region of its own: its default subnets go
    ec2 = boto3.client("ec2", region_name=region, endpoint_url=moto_client("ec2").meta.endpoint_url,
                       aws_access_key_id="testing", aws_secret_access_key="testing")  # fmt: skip
    vpc = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
    for subnet in ec2.describe_subnets(Filters=[{"Name": "default-for-az", "Values": ["true"]}])["Subnets"]:
        ec2.delete_subnet(SubnetId=subnet["SubnetId"])
    rc, result = run_module("deployment_info", name="novpc", managed_by=MANAGED_BY, vpc=True, region=region)
    assert rc == 0, result
    assert (result["vpc_id"], result["subnets"]) == (vpc, [])
    assert result["api_calls_by_operation"]["DescribeVpcs"] == 1


def test_what_exists_is_found_with_its_tags(run_module, moto_client, name):
    ec2, s3 = moto_client("ec2"), moto_client("s3")
    ec2.create_key_pair(KeyName=f"{name}-key", TagSpecifications=[{"ResourceType": "key-pair", "Tags": tags(name)}])
    vpc = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
    group = ec2.create_security_group(
        GroupName=f"{name}-web", Description="web", VpcId=vpc,
        TagSpecifications=[{"ResourceType": "security-group", "Tags": tags(name)}],
    )["GroupId"]  # fmt: skip
    ec2.authorize_security_group_ingress(
        GroupId=group,
        IpPermissions=[{"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}],
    )
    bucket = f"{name}-given"
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": tags(name)})
    moto_client("sns").create_topic(Name=f"{name}-alarms", Tags=tags(name))
    moto_client("cloudwatch").put_dashboard(DashboardName=name, DashboardBody=json.dumps({"widgets": []}))

    rc, result = run_module(
        "deployment_info", name=name, managed_by=MANAGED_BY, vpc=True, key_name=f"{name}-key",
        security_group=group, bucket=bucket, topic_name=f"{name}-alarms", dashboard_name=name,
    )  # fmt: skip
    assert rc == 0, result
    assert result["key_pair"]["key_name"] == f"{name}-key"
    assert result["key_pair"]["tags"] == {"Deployment": name, "ManagedBy": MANAGED_BY}
    found = result["security_group"]
    assert (found["group_id"], found["group_name"], found["tags"]["Deployment"]) == (group, f"{name}-web", name)
    assert found["ip_permissions"][0]["ip_ranges"][0]["cidr_ip"] == "0.0.0.0/0"
    assert result["bucket"] == {
        "name": bucket, "exists": True, "accessible": True, "region": "us-east-1",
        "tags": {"Deployment": name, "ManagedBy": MANAGED_BY},
    }  # fmt: skip
    assert result["topic"]["arn"] == f"arn:aws:sns:us-east-1:{ACCOUNT}:{name}-alarms"
    assert result["topic"]["tags"]["Deployment"] == name
    # Asked by its ARN: no ListTopics, whose pages hold every topic of the account.
    assert "ListTopics" not in result["api_calls_by_operation"]
    assert result["api_calls_by_operation"]["GetTopicAttributes"] == 1
    assert result["topic"]["subscriptions"] == [] and result["api_calls_by_operation"]["ListSubscriptionsByTopic"] == 1
    assert result["dashboard"] is True

    # Without its subscriptions (no e-mail to check, or teardown): one call fewer.
    rc, result = run_module(
        "deployment_info", name=name, managed_by=MANAGED_BY, topic_name=f"{name}-alarms", topic_subscriptions=False
    )
    assert rc == 0 and result["topic"]["tags"]["Deployment"] == name and "subscriptions" not in result["topic"]
    assert "ListSubscriptionsByTopic" not in result["api_calls_by_operation"]


def test_names_an_earlier_version_gave_are_found_where_the_current_ones_are_missing(run_module, moto_client, name):
    """teardown (earlier_names) finds a deployment made before the aaw- prefix; deploy's reads do not look."""
    legacy = {"bucket": f"{name}-{ACCOUNT}-us-east-1", "topic": f"{name}-alarms", "dashboard": name}
    moto_client("s3").create_bucket(Bucket=legacy["bucket"])
    moto_client("sns").create_topic(Name=legacy["topic"], Tags=tags(name))
    moto_client("cloudwatch").put_dashboard(
        DashboardName=legacy["dashboard"], DashboardBody=json.dumps({"widgets": []})
    )
    current = {
        "name": name,
        "managed_by": MANAGED_BY,
        "topic_name": f"aaw-{name}-alarms",
        "dashboard_name": f"aaw-{name}",
    }

    rc, plain = run_module("deployment_info", **current)
    assert rc == 0, plain
    assert (plain["bucket"]["exists"], plain["topic"], plain["dashboard"]) == (False, {}, False)

    rc, found = run_module("deployment_info", earlier_names=True, **current)
    assert rc == 0, found
    assert (found["bucket"]["name"], found["bucket"]["accessible"]) == (legacy["bucket"], True)
    assert found["topic"]["arn"].endswith(f":{legacy['topic']}")
    assert (found["dashboard"], found["dashboard_name"]) == (True, legacy["dashboard"])

    # Where the current name exists, the earlier one is not asked for.
    moto_client("cloudwatch").put_dashboard(DashboardName=f"aaw-{name}", DashboardBody=json.dumps({"widgets": []}))
    rc, both = run_module(
        "deployment_info", earlier_names=True, name=name, managed_by=MANAGED_BY, dashboard_name=f"aaw-{name}"
    )
    assert rc == 0 and both["dashboard_name"] == f"aaw-{name}"
    assert both["api_calls_by_operation"]["GetDashboard"] == 1


def test_alarms_are_found_with_what_makes_them_and_their_state(run_module, moto_client, name):
    moto_client("cloudwatch").put_metric_alarm(
        AlarmName=f"{name}-high-cpu", MetricName="CPUUtilization", Namespace="AWS/EC2", Statistic="Average",
        Period=300, EvaluationPeriods=2, Threshold=80.0, ComparisonOperator="GreaterThanThreshold",
        Dimensions=[{"Name": "InstanceId", "Value": "i-0123456789abcdef0"}],
    )  # fmt: skip
    rc, result = run_module(
        "deployment_info", name=name, managed_by=MANAGED_BY, alarm_names=[f"{name}-high-cpu", f"{name}-idle-terminate"]
    )
    assert rc == 0, result
    assert list(result["alarms"]) == [f"{name}-high-cpu"]  # the one that exists
    alarm = result["alarms"][f"{name}-high-cpu"]
    assert (alarm["Threshold"], alarm["Period"], alarm["EvaluationPeriods"]) == (80.0, 300, 2)
    assert alarm["Dimensions"] == [{"Name": "InstanceId", "Value": "i-0123456789abcdef0"}]
    assert alarm["AlarmArn"].endswith(f":alarm:{name}-high-cpu") and alarm["StateValue"] and "StateReason" in alarm
    # One DescribeAlarms for both names, besides the caller and the (absent) bucket: each call is counted.
    assert result["api_calls_by_operation"] == {"GetCallerIdentity": 1, "HeadBucket": 1, "DescribeAlarms": 1}


def test_an_untagged_bucket_is_told_apart_by_its_image_tags(run_module, moto_client, name):
    s3 = moto_client("s3")
    bucket = f"aaw-{name}-{ACCOUNT}-us-east-1"
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="public/image", Body=b"x", Tagging=f"Deployment={name}&ManagedBy={MANAGED_BY}")
    rc, result = run_module("deployment_info", name=name, managed_by=MANAGED_BY, image_key="public/image")
    assert rc == 0, result
    assert result["bucket"]["tags"] == {}
    assert result["bucket"]["image_tags"] == {"Deployment": name, "ManagedBy": MANAGED_BY}
    rc, result = run_module("deployment_info", name=name, managed_by=MANAGED_BY, image_key="public/other")
    assert result["bucket"]["image_tags"] == {}


def test_a_bucket_name_no_bucket_can_have_is_not_looked_up(run_module, name):
    rc, result = run_module("deployment_info", name=name, managed_by=MANAGED_BY, bucket="b" * 64)
    assert rc == 0, result
    assert result["bucket"]["exists"] is False


def test_the_deployment_s_instances_are_found_by_both_tags(run_module, moto_client, name):
    ec2 = moto_client("ec2")
    image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    ours = ec2.run_instances(
        ImageId=image, MinCount=1, MaxCount=1, TagSpecifications=[{"ResourceType": "instance", "Tags": tags(name)}]
    )["Instances"][0]["InstanceId"]
    other = [{"Key": "Deployment", "Value": name}, {"Key": "ManagedBy", "Value": "someone-else"}]
    ec2.run_instances(
        ImageId=image, MinCount=1, MaxCount=1, TagSpecifications=[{"ResourceType": "instance", "Tags": other}]
    )
    rc, result = run_module("deployment_info", name=name, managed_by=MANAGED_BY, instance_states=["pending", "running"])
    assert rc == 0, result
    assert [(i["instance_id"], i["state"]["name"]) for i in result["instances"]] == [(ours, "running")]


def test_an_instance_type_is_looked_up_with_its_zones(run_module, name):
    rc, result = run_module("deployment_info", name=name, managed_by=MANAGED_BY, instance_type="t3.nano")
    assert rc == 0, result
    assert result["instance_type"]["exists"] and result["instance_type"]["offered"]
    assert "x86_64" in result["instance_type"]["architectures"]
    rc, result = run_module("deployment_info", name=name, managed_by=MANAGED_BY, instance_type="t3.gigantic")
    assert result["instance_type"] == {
        "exists": False, "offered": False, "availability_zones": [], "architectures": [], "free_tier_eligible": False,
    }  # fmt: skip


def test_an_account_without_block_public_access_settings_blocks_nothing(run_module, s3control, name):
    rc, result = run_module("deployment_info", name=name, managed_by=MANAGED_BY, account_public_access_block=True)
    assert rc == 0, result
    found = result["account_public_access_block"]
    assert found["readable"] is True and found["configured"] is False
    assert set(found["public_access_block"].values()) == {False}


def test_the_account_block_public_access_settings_are_reported(run_module, s3control, name):
    s3control.put_public_access_block(
        AccountId=ACCOUNT,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": False,
        },
    )
    rc, result = run_module(
        "deployment_info", name=name, managed_by=MANAGED_BY, account_public_access_block=True, check_mode=True
    )
    assert rc == 0, result
    assert result["account_public_access_block"]["configured"] is True
    assert result["account_public_access_block"]["public_access_block"] == {
        "block_public_acls": True,
        "ignore_public_acls": True,
        "block_public_policy": True,
        "restrict_public_buckets": False,
    }


def test_an_unreachable_endpoint_fails_with_the_reason(run_module, name):
    rc, result = run_module("deployment_info", name=name, managed_by=MANAGED_BY, endpoint_url="http://127.0.0.1:9")
    assert rc != 0 and result["failed"]
    assert "Unable to ask STS who the credentials belong to" in result["msg"] and "Could not connect" in result["msg"]


def test_the_bucket_settings_deploy_gives_are_read_back(run_module, moto_client, name):
    s3 = moto_client("s3")
    bucket = f"{name}-settings"
    s3.create_bucket(Bucket=bucket)
    rc, result = run_module("deployment_info", name=name, managed_by=MANAGED_BY, bucket=bucket, bucket_settings=True)
    assert rc == 0, result
    assert result["bucket"]["settings"]["policy"] is None
    assert result["bucket"]["settings"]["object_ownership"] is None
    policy = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{bucket}/public/*"}
    ]}  # fmt: skip
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))
    s3.put_bucket_ownership_controls(
        Bucket=bucket, OwnershipControls={"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    )
    s3.put_public_access_block(
        Bucket=bucket,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True, "IgnorePublicAcls": True,
            "BlockPublicPolicy": False, "RestrictPublicBuckets": False,
        },
    )  # fmt: skip
    s3.put_bucket_encryption(
        Bucket=bucket,
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
        },
    )
    rc, result = run_module("deployment_info", name=name, managed_by=MANAGED_BY, bucket=bucket, bucket_settings=True)
    assert rc == 0, result
    assert result["bucket"]["settings"] == {
        "encryption": ["AES256"],
        "object_ownership": ["BucketOwnerEnforced"],
        "policy": policy,
        "public_access_block": {
            "block_public_acls": True, "ignore_public_acls": True,
            "block_public_policy": False, "restrict_public_buckets": False,
        },
    }  # fmt: skip


def test_the_instances_that_use_the_group_are_listed(run_module, moto_client, name):
    ec2 = moto_client("ec2")
    group = ec2.create_security_group(GroupName=f"{name}-web", Description="web")["GroupId"]
    image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    user = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, SecurityGroupIds=[group])["Instances"][0]
    rc, result = run_module(
        "deployment_info", name=name, managed_by=MANAGED_BY, security_group=f"{name}-web", security_group_users=True
    )
    assert rc == 0, result
    assert result["security_group"]["users"] == [user["InstanceId"]]


def test_an_untagged_bucket_says_what_else_it_holds(run_module, moto_client, name):
    s3 = moto_client("s3")
    bucket = f"{name}-mine"
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="public/image", Body=b"x")
    look = {"name": name, "managed_by": MANAGED_BY, "bucket": bucket, "image_key": "public/image"}
    rc, result = run_module("deployment_info", **look)
    assert rc == 0 and result["bucket"]["other_objects"] == [], result
    s3.put_object(Bucket=bucket, Key="data/keep.txt", Body=b"theirs")
    rc, result = run_module("deployment_info", **look)
    assert result["bucket"]["other_objects"] == ["data/keep.txt"]


def test_the_group_modes_resources_are_found_by_name_with_their_tags(run_module, moto_client, name):
    ec2, elbv2, autoscaling = moto_client("ec2"), moto_client("elbv2"), moto_client("autoscaling")
    rc, result = run_module("deployment_info", name=name, managed_by=MANAGED_BY, scaling=True)
    assert rc == 0, result
    assert result["scaling"] == {
        **{k: {} for k in ("group", "launch_template", "balancer", "target_group", "security_group")},
        "certificates": [],
    }
    # Without the load balancer's security group (made first, deleted last), nothing more is asked.
    asked = set(result["api_calls_by_operation"])
    assert "DescribeSecurityGroups" in asked
    assert not asked & {"DescribeAutoScalingGroups", "DescribeLaunchTemplates", "DescribeLoadBalancers",
                        "DescribeTargetGroups", "ListCertificates"}  # fmt: skip

    vpc = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
    subnets = [
        s["SubnetId"] for s in ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["Subnets"][:2]
    ]
    group = ec2.create_security_group(
        GroupName=f"{name}-lb", Description="lb", VpcId=vpc,
        TagSpecifications=[{"ResourceType": "security-group", "Tags": tags(name)}],
    )["GroupId"]  # fmt: skip
    image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    ec2.create_launch_template(
        LaunchTemplateName=f"{name}-web", LaunchTemplateData={"ImageId": image, "InstanceType": "t3.nano"},
        TagSpecifications=[{"ResourceType": "launch-template", "Tags": tags(name)}],
    )  # fmt: skip
    # The target group under the project's prefix, the balancer under the name an earlier version gave it.
    target_group = elbv2.create_target_group(
        Name=f"aaw-{name}-tg", Protocol="HTTP", Port=80, VpcId=vpc, Tags=tags(name)
    )
    balancer = elbv2.create_load_balancer(Name=f"{name}-lb", Subnets=subnets, SecurityGroups=[group], Tags=tags(name))
    autoscaling.create_auto_scaling_group(
        AutoScalingGroupName=f"{name}-web", LaunchTemplate={"LaunchTemplateName": f"{name}-web", "Version": "$Default"},
        MinSize=0, MaxSize=2, DesiredCapacity=0, VPCZoneIdentifier=",".join(subnets),
        Tags=[{**t, "PropagateAtLaunch": True} for t in tags(name)],
    )  # fmt: skip
    autoscaling.put_scaling_policy(
        AutoScalingGroupName=f"{name}-web", PolicyName=f"{name}-scale-out", PolicyType="SimpleScaling",
        AdjustmentType="ChangeInCapacity", ScalingAdjustment=1,
    )  # fmt: skip
    ours = {"Deployment": name, "ManagedBy": MANAGED_BY}
    certificate = run_module("acm_certificate_self_signed", name=f"{name}-https", domain="a.example", tags=ours)[1]
    run_module("acm_certificate_self_signed", name=f"{name}-https", domain="a.example",
               tags={**ours, "ManagedBy": "another-tool"})  # fmt: skip

    rc, result = run_module("deployment_info", name=name, managed_by=MANAGED_BY, scaling=True)
    assert rc == 0, result
    found, ours = result["scaling"], {"Deployment": name, "ManagedBy": MANAGED_BY}
    assert (found["group"]["name"], found["group"]["max_size"], found["group"]["tags"]) == (f"{name}-web", 2, ours)
    assert list(found["group"]["policies"]) == [f"{name}-scale-out"]
    assert (found["group"]["subnets"], found["group"]["launch_template"]) == (
        sorted(subnets),
        {"name": f"{name}-web", "version": "$Default"},
    ), "what check mode compares"
    assert found["group"]["tags_propagated"] and not found["group"]["metrics_enabled"]
    assert (found["launch_template"]["name"], found["launch_template"]["tags"]) == (f"{name}-web", ours)
    assert found["balancer"]["arn"] == balancer["LoadBalancers"][0]["LoadBalancerArn"]
    assert found["balancer"]["name"] == f"{name}-lb", "found under its earlier name, for teardown and deploy's stop"
    assert found["balancer"]["tags"] == ours and found["balancer"]["dns_name"]
    assert found["target_group"] == {
        "arn": target_group["TargetGroups"][0]["TargetGroupArn"], "name": f"aaw-{name}-tg", "tags": ours,
    }  # fmt: skip
    assert found["security_group"]["group_id"] == group
    assert [(c["arn"], c["tags"]) for c in found["certificates"]] == [
        (certificate["arn"], {**ours, "Name": f"{name}-https"})
    ], "only the certificate with the deployment's tags"


# A whole 1x1 PNG, and what origins send instead of an image.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d4944415478da63f8cf"
    "c0f01f0005000201fe8f1e2a0b0000000049454e44ae426082"
)
SVG = b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>'
PAGE = b"<!DOCTYPE html><html><body>Not found, but 200 anyway</body></html>"


@pytest.fixture
def web_server():
    """A loopback image origin: good images, and each kind of bad one (two of each)."""

    seen = []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"

        def send(self, body, content_type="image/png", length=True):
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            if length:
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def endless(self, pause):
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.end_headers()
            self.wfile.write(PNG[:16])
            while True:
                time.sleep(pause)
                self.wfile.write(b"\0" * (1 if pause else 65536))
                self.wfile.flush()

        def do_GET(self):
            seen.append((self.path, self.headers.get("User-Agent", "")))
            routes = {
                "/image.png": lambda: self.send(PNG),
                "/im%C3%A4g%C3%A9.png": lambda: self.send(PNG),  # /imägé.png, as browsers send it
                "/empty.png": lambda: self.send(b""),
                "/empty-no-length.png": lambda: self.send(b"", length=False),
                "/vector.svg": lambda: self.send(SVG, "image/svg+xml"),
                "/page.png": lambda: self.send(PAGE, "image/png"),
                "/large.png": lambda: self.send(PNG + b"\0" * 4096),
                "/large-no-length.png": lambda: self.send(PNG + b"\0" * 4096, length=False),
                "/endless.png": lambda: self.endless(0),
                "/trickle.png": lambda: self.endless(0.3),
            }
            if self.path == "/moved.png":
                self.send_response(302)
                self.send_header("Location", "/image.png")
                self.end_headers()
            elif self.path in routes:
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    routes[self.path]()
            else:
                self.send_error(404)

        def log_message(self, *_args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}", seen
    server.shutdown()
    server.server_close()


def test_the_image_is_fetched_whole_and_checked_into_its_file(run_module, name, web_server, tmp_path):
    origin, seen = web_server
    for path in ("/image.png", "/moved.png", "/imägé.png"):
        dest = tmp_path / "images" / name
        rc, result = run_module(
            "deployment_info", name=name, managed_by=MANAGED_BY, image_url=origin + path, image_dest=str(dest)
        )
        assert rc == 0, result
        assert result["image_url"] == {
            "url": origin + path, "problem": "", "path": str(dest), "size": len(PNG), "content_type": "image/png",
            "sha256": hashlib.sha256(PNG).hexdigest(),
        }  # fmt: skip
        assert dest.read_bytes() == PNG
    assert "/im%C3%A4g%C3%A9.png" in [path for path, _agent in seen], "an IRI's path is sent as browsers send it"


@pytest.mark.parametrize(
    ("path", "problem"),
    [
        ("/missing.png", "HTTP 404"),
        (None, "connection refused"),
        ("/empty.png", "not an image"),
        ("/empty-no-length.png", "not an image"),
        ("/vector.svg", "not an image"),
        ("/page.png", "not an image"),
        ("/large.png", "larger than max_size 2048 bytes"),
        ("/large-no-length.png", "larger than max_size 2048 bytes"),
        ("/endless.png", "larger than max_size 2048 bytes"),
        ("/trickle.png", "took longer than 2 s"),
    ],
)
def test_an_image_that_cannot_be_used_is_named_and_leaves_the_earlier_file(
    run_module, name, web_server, tmp_path, path, problem
):
    origin, _seen = web_server
    if path is None:  # a port nothing listens on
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            url = f"http://127.0.0.1:{sock.getsockname()[1]}/image.png"
    else:
        url = origin + path
    dest = tmp_path / "images" / name
    dest.parent.mkdir()
    dest.write_bytes(PNG)
    rc, result = run_module(
        "deployment_info", name=name, managed_by=MANAGED_BY, image_url=url, image_dest=str(dest),
        image_timeout=2, image_max_size=2048,
    )  # fmt: skip
    assert rc == 0, result
    assert result["image_url"]["url"] == url
    assert problem in result["image_url"]["problem"]
    assert dest.read_bytes() == PNG, "a failed fetch leaves the file as it was"
    assert [p.name for p in dest.parent.iterdir()] == [name], "no partial file left"


def test_the_bucket_versioning_is_read_only_when_asked(run_module, moto_client, name):
    s3 = moto_client("s3")
    never, enabled, suspended = (f"{name}-{kind}" for kind in ("never", "enabled", "suspended"))
    for bucket in (never, enabled, suspended):
        s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=enabled, VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_versioning(Bucket=suspended, VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_versioning(Bucket=suspended, VersioningConfiguration={"Status": "Suspended"})
    for bucket, status in ((never, ""), (enabled, "Enabled"), (suspended, "Suspended")):
        rc, result = run_module(
            "deployment_info", name=name, managed_by=MANAGED_BY, bucket=bucket, bucket_versioning=True
        )
        assert rc == 0, result
        assert result["bucket"]["versioning"] == status, bucket
    rc, result = run_module("deployment_info", name=name, managed_by=MANAGED_BY, bucket=never)
    assert "versioning" not in result["bucket"] and "GetBucketVersioning" not in result["api_calls_by_operation"]


def lock_holder(moto_client, name: str) -> dict | None:
    ssm = moto_client("ssm")
    try:
        return json.loads(ssm.get_parameter(Name=f"/aaw/{name}/lock")["Parameter"]["Value"])
    except ssm.exceptions.ParameterNotFound:
        return None


def test_the_lock_is_taken_before_the_reads_and_a_held_one_stops_the_run_naming_its_holder(
    run_module, moto_client, name
):
    """deploy.yml and teardown.yml take the deployment's lock in their first read (deployment_lock's
    code, tested in test_deployment_lock.py); deployment_lock releases it."""
    rc, first = run_module("deployment_info", name=name, managed_by=MANAGED_BY, lock={"playbook": "deploy.yml"})
    assert rc == 0 and first["changed"] is False, first
    assert first["lock"]["parameter"] == f"/aaw/{name}/lock" and first["lock"]["holder"] == {}
    assert lock_holder(moto_client, name)["run_id"] == first["lock"]["run_id"]
    assert lock_holder(moto_client, name)["playbook"] == "deploy.yml"
    assert first["api_calls_by_operation"]["PutParameter"] == 1 and first["account"] == ACCOUNT

    rc, second = run_module(
        "deployment_info", name=name, managed_by=MANAGED_BY, lock={"playbook": "teardown.yml", "advice": "Force it."}
    )
    assert rc != 0
    assert second["msg"].startswith(f"Deployment {name} is being changed by another run: deploy.yml by ")
    assert second["msg"].endswith("Force it.") and second["holder"]["run_id"] == first["lock"]["run_id"]
    assert "account" not in second, "nothing is read without the lock"

    rc, looked = run_module("deployment_info", check_mode=True, name=name, managed_by=MANAGED_BY, lock={})
    assert rc == 0 and looked["lock"]["run_id"] == "" and looked["lock"]["holder"]["playbook"] == "deploy.yml"
    assert "Another run holds the deployment" in json.dumps(looked.get("warnings", [])), sorted(looked)
    rc, bad = run_module("deployment_info", name=name, managed_by=MANAGED_BY, lock={"lease": 10})
    assert rc != 0 and bad["msg"] == "lock: wait must be 0 or more, lease 60 or more seconds (got 0, 10)", bad
    rc, unlocked = run_module("deployment_info", name=name, managed_by=MANAGED_BY)
    assert rc == 0 and unlocked["lock"] == {} and "PutParameter" not in unlocked["api_calls_by_operation"]

    rc, released = run_module("deployment_lock", name=name, state="absent", run_id=first["lock"]["run_id"])
    assert rc == 0 and released["changed"] is True and lock_holder(moto_client, name) is None
