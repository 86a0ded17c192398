"""The deployment role's filter plugins (input rules, resources, AWS advice, interactive answers) and
the shared rules behind them (module_utils/deployment_rules.py)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import SimpleNamespace

import pytest
from ansible_collections.aws_webserver.core.plugins.module_utils import deployment_rules

ROOT = Path(__file__).resolve().parents[2]
PLUGINS = {
    "input_rules": "roles/deployment/filter_plugins",
    "resources": "roles/deployment/filter_plugins",
    "aws_advice": "collections/ansible_collections/aws_webserver/core/plugins/filter",
    "answers": "roles/interactive/filter_plugins",
}


def load(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / PLUGINS[name] / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


plugins = {name: load(name) for name in PLUGINS}
# Every name of the four filter files and the shared rules, as the tests read them.
checks = SimpleNamespace(**{k: v for m in (deployment_rules, *plugins.values()) for k, v in vars(m).items()})
problem = deployment_rules.deployment_problem


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("deployment_name", "webserver"),
        ("deployment_name", "a1"),
        ("deployment_region", "us-east-1"),
        ("deployment_region", "eu-central-2"),
        ("deployment_region", "ap-southeast-7"),
        ("deployment_instance_type", "t3.nano"),
        ("deployment_instance_type", "m7i-flex.large"),
        ("deployment_key_name", "my_key.2024"),
        ("deployment_ssh_cidr", "203.0.113.7/32"),
        ("deployment_ssh_cidr", "10.0.0.0/8"),
        ("deployment_bucket_name", "my-bucket-example"),
        ("deployment_bucket_name", "abc"),
        ("deployment_image_url", "https://example.com/a.jpg"),
        ("deployment_image_url", "http://127.0.0.1:4567/image.jpg"),
    ],
)
def test_good_values_pass(setting, value):
    assert problem(value, setting) == ""


@pytest.mark.parametrize(
    ("setting", "value", "reason"),
    [
        ("deployment_name", "", "empty"),
        ("deployment_name", "x" * 33, "33 characters"),
        ("deployment_name", "Web", "uppercase"),
        ("deployment_name", "1web", "start with a letter"),
        ("deployment_name", "web-", "end with a hyphen"),
        ("deployment_name", "web_1", "lowercase letters, digits and hyphens"),
        ("deployment_region", "useast1", "not an AWS region name"),
        ("deployment_region", "us-east-9", "no region of that name"),
        ("deployment_region", "eu-wset-1", "Did you mean eu-west-1"),
        ("deployment_region", "us-gov-west-1", "aws-us-gov (GovCloud) partition"),
        ("deployment_region", "cn-north-1", "aws-cn (China) partition"),
        ("deployment_instance_type", "t3nano", "not an EC2 instance type"),
        ("deployment_key_name", ".hidden", "not starting with a dot"),
        ("deployment_key_name", "a/b", "letters, digits"),
        ("deployment_ssh_cidr", "203.0.113.7", "203.0.113.7/32"),
        ("deployment_ssh_cidr", "0.0.0.0/0", "too much of the internet"),
        ("deployment_ssh_cidr", "300.1.1.1/32", "not an IPv4 CIDR"),
        ("deployment_ssh_cidr", "10.0.0.5/24", "10.0.0.0/24"),
        ("deployment_ssh_cidr", "2001:db8::/64", "IPv6"),
        ("deployment_bucket_name", "ab", "2 characters"),
        ("deployment_bucket_name", "b" * 64, "64 characters"),
        ("deployment_bucket_name", "Bad-Bucket", "uppercase"),
        ("deployment_bucket_name", "bad_bucket", "'_'"),
        ("deployment_bucket_name", "-bucket", "start and end"),
        ("deployment_bucket_name", "my-bucket.example", "break the image's HTTPS address"),
        ("deployment_bucket_name", "192.168.5.4", "has dots"),
        ("deployment_bucket_name", "xn--bucket", "xn--"),
        ("deployment_bucket_name", "bucket-s3alias", "-s3alias"),
        ("deployment_image_url", "ftp://example.com/a.jpg", "http://"),
        ("deployment_image_url", "http:///a.jpg", "no host name"),
        ("deployment_image_url", "http://exa mple.com/", "spaces"),
    ],
)
def test_bad_values_are_explained(setting, value, reason):
    assert reason in problem(value, setting)


def test_an_unknown_setting_is_a_programming_error():
    with pytest.raises(ValueError, match="deployment_nope"):
        problem("x", "deployment_nope")


def rule(port_from, port_to, *cidrs, protocol="tcp"):
    return {
        "ip_protocol": protocol,
        "from_port": port_from,
        "to_port": port_to,
        "ip_ranges": [{"cidr_ip": c} for c in cidrs],
    }


def test_a_group_with_every_rule_lacks_nothing():
    rules = [rule(22, 22, "127.0.0.1/32"), rule(80, 80, "0.0.0.0/0"), rule(443, 443, "0.0.0.0/0")]
    assert checks.deployment_missing_ports(rules, "127.0.0.1/32") == []


def test_an_empty_group_lacks_all_three():
    missing = checks.deployment_missing_ports([], "203.0.113.7/32")
    assert missing == [
        "TCP port 22 (SSH) from 203.0.113.7/32",
        "TCP port 80 (HTTP) from anywhere (0.0.0.0/0)",
        "TCP port 443 (HTTPS) from anywhere (0.0.0.0/0)",
    ]


def test_ranges_wider_rules_and_all_traffic_count():
    rules = [rule(0, 1024, "203.0.113.0/24"), rule(None, None, "0.0.0.0/0", protocol="-1")]
    assert checks.deployment_missing_ports(rules, "203.0.113.7/32") == []
    assert checks.deployment_missing_ports([rule(20, 25, "10.0.0.0/8")], "203.0.113.7/32")[0].startswith("TCP port 22")
    # HTTP open to one network only does not make the page public.
    assert "TCP port 80 (HTTP) from anywhere (0.0.0.0/0)" in checks.deployment_missing_ports(
        [rule(80, 80, "10.0.0.0/8")], "10.0.0.1/32"
    )
    assert len(checks.deployment_missing_ports([rule(22, 22, "0.0.0.0/0", protocol="udp")], "1.2.3.4/32")) == 3


def test_a_port_open_to_anywhere_needs_a_rule_for_all_addresses():
    assert checks.deployment_allows_port([rule(443, 443, "0.0.0.0/0")], 443)
    assert checks.deployment_allows_port([rule(None, None, "0.0.0.0/0", protocol="-1")], "443")
    assert not checks.deployment_allows_port([rule(443, 443, "10.0.0.0/8")], 443)
    assert not checks.deployment_allows_port([rule(22, 80, "0.0.0.0/0")], 443)
    assert not checks.deployment_allows_port(None, 443)


def failure(code, message, operation="RunInstances"):
    return {
        "failed": True,
        "msg": f"Failed to run instances: An error occurred ({code}) when calling the {operation} operation: {message}",
        "error": {"code": code, "message": message},
    }


@pytest.mark.parametrize(
    ("code", "message", "advice"),
    [
        ("InstanceLimitExceeded", "You have requested more instances (21) than your current instance limit", "quota"),
        ("VcpuLimitExceeded", "You have requested more vCPU capacity than your current vCPU limit", "Service Quotas"),
        ("InsufficientInstanceCapacity", "We currently do not have sufficient t3.nano capacity", "Run again in a few"),
        ("Unsupported", "Your requested instance type (t3.nano) is not supported in your requested AZ", "offerings"),
        (
            "InvalidParameterCombination",
            "The specified instance type is not eligible for Free Tier. For a list of Free Tier instance types, run "
            "'describe-instance-types' with the filter 'free-tier-eligible=true'.",
            "free plan",
        ),
        ("UnauthorizedOperation", "You are not authorized to perform this operation.", "IAM"),
        ("InvalidInstanceType.NotFound", "The instance type 't3.nano' does not exist", "does not know"),
        ("OptInRequired", "You are not subscribed to this service.", "verified"),
    ],
)
def test_launch_errors_say_what_to_change(code, message, advice):
    text = checks.deployment_launch_advice(failure(code, message), "t3.nano", "eu-west-1")
    assert text.startswith(f"AWS did not launch the t3.nano instance in eu-west-1 ({code}: {message}")
    assert advice in text
    assert "Nothing of the instance was created" in text


def test_launch_advice_names_the_setting_to_change():
    text = checks.deployment_launch_advice(failure("VcpuLimitExceeded", "limit"), "m5.large", "us-east-1")
    assert "-e deployment_instance_type=" in text and "-e deployment_region=" in text


@pytest.mark.parametrize(
    ("msg", "endpoint", "advice"),
    [
        ("Failed to retrieve caller identity: Unable to locate credentials", "", "aws configure"),
        ("Unable to locate credentials", "http://127.0.0.1:4566", "local inventory"),
        ('Failed: Could not connect to the endpoint URL: "http://127.0.0.1:9/"', "http://127.0.0.1:9", "make up"),
        ('Failed: Could not connect to the endpoint URL: "https://sts.eu-west-1.amazonaws.com/"', "", "internet"),
        ("An error occurred (InvalidClientTokenId) when calling the GetCallerIdentity operation: x", "", "rejected"),
        ("An error occurred (ExpiredToken) when calling the GetCallerIdentity operation: x", "", "aws sso login"),
        ("An error occurred (AccessDenied) when calling the GetCallerIdentity operation: x", "", "permissions"),
        ("An error occurred (BucketAlreadyExists) when calling the CreateBucket operation: x", "", "bucket_name"),
        ("Failed to retrieve caller identity: The config profile (nosuch) could not be found", "", "'nosuch' does not"),
        ("Passing both a profile and access tokens is not supported.", "", "unset AWS_PROFILE"),
        ("Something else entirely", "", "Check the credentials"),
    ],
)
def test_aws_errors_say_what_to_do(msg, endpoint, advice):
    assert advice in checks.deployment_aws_advice({"msg": msg}, endpoint, "eu-west-1")


def test_a_first_call_that_fails_says_where_what_and_what_to_do():
    said = checks.deployment_aws_unusable({"msg": "Unable to locate credentials"}, "http://127.0.0.1:1", "eu-west-1")
    assert said.startswith("Could not use AWS in eu-west-1 at http://127.0.0.1:1: Unable to locate credentials. ")
    assert "No AWS credentials were found" in said


def test_offering_problems_name_the_way_out():
    ok = {"exists": True, "offered": True, "architectures": ["x86_64"]}
    assert checks.deployment_offering_problem(ok, "x86_64", "us-east-1") == ""
    assert "no instance type" in checks.deployment_offering_problem({"exists": False}, "x86_64", "us-east-1")
    not_here = {"exists": True, "offered": False, "architectures": ["x86_64"]}
    assert "no availability zone of eu-west-3" in checks.deployment_offering_problem(not_here, "x86_64", "eu-west-3")
    arm = {"exists": True, "offered": True, "architectures": ["arm64"]}
    assert "deployment_architecture=arm64" in checks.deployment_offering_problem(arm, "x86_64", "us-east-1")


@pytest.mark.parametrize(
    ("result", "expected"),
    [
        ({"status": 200}, ""),
        ({"status": 405}, ""),
        ({"status": 404, "msg": "Not Found"}, "HTTP 404"),
        (
            {"status": -1, "msg": "Status code was -1 and not [200]: Request failed: <urlopen error [Errno 111]>"},
            "nothing answers there (Request failed: <urlopen error [Errno 111]>)",
        ),
    ],
)
def test_fetch_problems(result, expected):
    problem = checks.deployment_fetch_problem(result)
    assert (expected in problem) if expected else problem == ""


QUESTION = {"choices": ["key-a", "key-b", "_new"], "default": "3"}


@pytest.mark.parametrize(
    ("typed", "answer"),
    [("", "_new"), ("1", "key-a"), (" 2 ", "key-b"), ("key-b", "key-b"), ("4", "4"), ("0", "0")],
)
def test_answers_pick_choices_by_number_and_enter_keeps_the_default(typed, answer):
    assert checks.interactive_answer({"user_input": typed}, QUESTION) == answer


def test_an_empty_choice_value_is_kept():
    question = {"choices": ["sg-1", ""], "default": "2"}
    answer = checks.interactive_answer({"user_input": ""}, question)
    assert answer == "" and checks.interactive_answer_problem(answer, question, {}) == ""


@pytest.mark.parametrize(
    ("answer", "question", "reply", "expected"),
    [
        ("4", QUESTION, {}, "answer with a number from 1 to 3"),
        ("key-a", QUESTION, {}, ""),
        ("maybe", {"answers": ["yes", "y", "no", "n"]}, {}, "answer yes or y or no or n"),
        ("YES", {"answers": ["yes", "y", "no", "n"]}, {}, ""),
        ("old", {"taken": ["old"], "taken_msg": "it exists"}, {}, "it exists"),
        ("Bad_Bucket", {"check": "deployment_bucket_name"}, {}, "uppercase letters"),
        ("good-bucket", {"check": "deployment_bucket_name"}, {}, ""),
        ("x", {}, {"warnings": ["Not waiting for response to prompt as stdin is not interactive"]}, "no terminal"),
    ],
)
def test_answer_problems(answer, question, reply, expected):
    problem = checks.interactive_answer_problem(answer, question, reply)
    assert (expected in problem) if expected else problem == ""


def test_the_filters_are_registered_once_each():
    names = [name for plugin in plugins.values() for name in plugin.FilterModule().filters()]
    assert len(names) == len(set(names))
    assert set(names) == {
        "deployment_balancer_listeners",
        "deployment_newest_certificate",
        "deployment_group_subnets",
        "deployment_mode_problem",
        "deployment_owned",
        "deployment_page_instance",
        "deployment_group_sizes",
        "deployment_group_tags",
        "deployment_scaling_group_is_current",
        "deployment_problem",
        "deployment_missing_ports",
        "deployment_owner_problem",
        "deployment_tagged_for",
        "deployment_group_is_current",
        "deployment_pins_host",
        "deployment_instance_is_current",
        "deployment_bucket_is_current",
        "deployment_alarm_specs",
        "deployment_alarms_to_change",
        "deployment_topic_is_current",
        "deployment_allows_port",
        "deployment_aws_advice",
        "deployment_aws_unusable",
        "deployment_launch_advice",
        "deployment_offering_problem",
        "deployment_fetch_problem",
        "deployment_launch_subnet",
        "interactive_answer",
        "interactive_answer_problem",
        "deployment_settings_problems",
        "deployment_key_users",
    }


def test_what_still_needs_the_keys_is_named_with_its_deployment():
    pairs = [{"key_name": "demo-key", "tags": {"Deployment": "demo"}}, {"key_name": "mine", "tags": {}}]
    instances = [{"instance_id": "i-1", "tags": {"Deployment": "demo"}}]
    assert checks.deployment_key_users(pairs, instances) == [
        "key pair demo-key (deployment demo)",
        "key pair mine",
        "instance i-1 (deployment demo)",
    ]


def test_the_launch_subnet_is_in_a_zone_that_offers_the_type():
    subnets = [
        {"subnet_id": "subnet-e", "availability_zone": "us-east-1e"},
        {"subnet_id": "subnet-b", "availability_zone": "us-east-1b"},
        {"subnet_id": "subnet-c", "availability_zone": "us-east-1c"},
    ]
    assert checks.deployment_launch_subnet(subnets, ["us-east-1c", "us-east-1b"]) == "subnet-b"
    assert checks.deployment_launch_subnet(subnets, ["us-east-1d"]) == ""
    assert checks.deployment_launch_subnet([], ["us-east-1a"]) == ""


# --- the role's rules over type-checked settings (deployment_settings_problems) ------------------

rules = checks.deployment_settings_problems


@pytest.mark.parametrize(
    ("values", "says"),
    [
        ({"deployment_tags": {f"t{n}": "v" for n in range(9)}}, "it has 9 tags"),
        ({"deployment_tags": {"Deployment": "x"}}, "the key Deployment is the project's own tag"),
        ({"deployment_tags": {"aws:team": "x"}}, "starts with aws:, which AWS reserves"),
        ({"deployment_tags": {"AWS:team": "x"}}, "starts with aws:"),
        ({"deployment_tags": {"": "x"}}, "must be text of 1-128 characters"),
        ({"deployment_tags": {"k" * 129: "x"}}, "must be text of 1-128 characters"),
        ({"deployment_tags": {"team": "v" * 257}}, "has 257 characters; AWS allows 256"),
        ({"deployment_tags": {"team": 42}}, "the value of team is int, not text"),
        ({"deployment_tags": {"team": "a#b"}}, "characters AWS does not allow in tags ('#')"),
        ({"deployment_idle_cpu_threshold": 101}, "between 0 and 100"),
        ({"deployment_idle_cpu_threshold": 0}, "between 0 and 100"),
        ({"deployment_high_cpu_threshold": 100.0}, "between 0 and 100"),
        ({"deployment_idle_minutes": 7}, "multiple of 5"),
        ({"deployment_idle_minutes": 0}, "from 5 to 1440"),
        ({"deployment_high_cpu_minutes": 1445}, "from 5 to 1440"),
        ({"deployment_alarm_email": "ops.example.com"}, "not an e-mail address"),
        ({"deployment_alarm_email": "ops@localhost"}, "not an e-mail address"),
        ({"deployment_public_prefix": ""}, "whole bucket readable by anyone"),
        ({"deployment_public_prefix": "public"}, "ending with / and not starting with one"),
        ({"deployment_public_prefix": "/public/"}, "ending with / and not starting with one"),
        ({"deployment_public_prefix": 'pub"lic/'}, "break the bucket policy ('\"')"),
        ({"deployment_public_prefix": "pub*/"}, "break the bucket policy ('*')"),
        ({"deployment_image_max_size": 0}, "give 1 to"),
        ({"deployment_image_max_size": 5 * 1024**3 + 1}, "5 GiB is one upload's limit"),
        ({"deployment_image_timeout": 0}, "give 1 to 3600 seconds"),
        ({"deployment_boot_timeout": 9}, "give 10 to 3600 seconds"),
        ({"deployment_teardown_timeout": -1}, "give 0 to 3600 seconds"),
        ({"deployment_teardown_timeout": 3601}, "give 0 to 3600 seconds"),
        ({"deployment_image_url": "https://a:b@example.com/x.jpg"}, "would be published"),
        ({"deployment_image_url": "https://a@example.com/x.jpg"}, "would be published"),
        ({"deployment_image_key": "private/image", "deployment_public_prefix": "public/"}, "must lie under"),
        ({"deployment_image_key": "public/", "deployment_public_prefix": "public/"}, "must lie under"),
        ({"deployment_high_cpu_alarm_enabled": True, "deployment_high_cpu_actions": []}, "notify, reboot or both"),
        ({"deployment_alarm_period": 45}, "10, 20, 30 or a multiple of 60"),
        ({"deployment_alarm_period": 10}, "on AWS, EC2 sends its metrics once a minute at most"),
        ({"deployment_alarm_period": 60, "deployment_detailed_monitoring": False}, "without detailed monitoring"),
        ({"deployment_alarm_period": 900, "deployment_idle_minutes": 20}, "a multiple of 15 from 15 to 1440"),
        ({"deployment_alarm_period": 60, "deployment_high_cpu_minutes": 0}, "give 1 to 1440 minutes"),
    ],
)
def test_settings_that_break_a_rule_are_explained(values, says):
    found = rules(values)
    assert len(found) == 1 and says in found[0], found


@pytest.mark.parametrize(
    "values",
    [
        {"deployment_tags": {f"t{n}": "v" for n in range(8)}},
        {"deployment_tags": {"cost-centre": "42", "owner": "ops@example.com", "note": "web + api = 1/2 é"}},
        {"deployment_idle_cpu_threshold": 0.5, "deployment_high_cpu_threshold": 99},
        {"deployment_idle_minutes": 5, "deployment_high_cpu_minutes": 1440},
        {"deployment_alarm_email": ""},
        {"deployment_alarm_email": "ops+web@example.co.uk"},
        {"deployment_public_prefix": "site/images/", "deployment_image_key": "site/images/today.jpg"},
        {"deployment_image_max_size": 5 * 1024**3, "deployment_image_timeout": 3600, "deployment_boot_timeout": 10},
        {"deployment_teardown_timeout": 0},
        {"deployment_key_name": "", "deployment_ssh_cidr": "", "deployment_bucket_name": ""},
        {"deployment_high_cpu_alarm_enabled": False, "deployment_high_cpu_actions": []},
        {"deployment_alarm_period": 60, "deployment_idle_minutes": 7, "deployment_detailed_monitoring": True},
        {
            "deployment_alarm_period": 10,
            "deployment_endpoint_url": "http://127.0.0.1:4566",
            "deployment_idle_minutes": 2,
        },
        {"deployment_alarm_period": 3600, "deployment_high_cpu_minutes": 1440},
        {"deployment_unknown_to_the_rules": "anything"},
    ],
)
def test_settings_within_the_rules_pass(values):
    assert rules(values) == []


def test_a_password_in_the_image_url_is_never_shown():
    found = rules({"deployment_image_url": "https://alice:s3cret@example.com:8443/x.jpg"})
    assert "s3cret" not in found[0] and "alice" not in found[0]
    assert '"https://***@example.com:8443/x.jpg"' in found[0]


def test_every_broken_rule_is_reported_at_once():
    found = rules({"deployment_name": "Bad", "deployment_idle_minutes": 7, "deployment_alarm_email": "x"})
    assert [line.split("=")[0] for line in found] == [
        "deployment_name",
        "deployment_idle_minutes",
        "deployment_alarm_email",
    ]


@pytest.mark.parametrize(
    ("tags", "derived", "says"),
    [
        (None, True, ""),  # nothing there: deploy creates it
        ({"Deployment": "web"}, True, ""),  # this deployment's own
        ([{"Key": "Deployment", "Value": "web"}], False, ""),  # AWS's tag list, this deployment's
        ({}, False, ""),  # the user's own, given to be used as it is
        ({"Deployment": "shop"}, False, 'is the security group of the deployment "shop"'),
        ([{"Key": "Deployment", "Value": "shop"}], True, 'of the deployment "shop"'),
        ({}, True, "is not this deployment's (it has no Deployment tag)"),
        ({"Name": "web-web"}, True, "-e deployment_security_group=web-web to use it as it is"),
    ],
)
def test_a_resource_of_another_deployment_or_of_nobody_is_refused(tags, derived, says):
    found = checks.deployment_owner_problem(
        tags, "web", "security group", "deployment_security_group", "web-web", "web-web", derived=derived
    )
    assert (says in found) if says else found == ""
    if says:
        assert "Nothing was created" in found


def _group(https: bool = True, ssh: str = "203.0.113.7/32", **changes) -> dict:
    anyone = [{"cidr_ip": "0.0.0.0/0", "description": checks.WEB_RULE}]
    web = [
        {"ip_protocol": "tcp", "from_port": p, "to_port": p, "ip_ranges": anyone}
        for p in ([80, 443] if https else [80])
    ]
    group = {
        "tags": {"Deployment": "web", "ManagedBy": "m", "Name": "web-web"},
        "ip_permissions": [
            {"ip_protocol": "tcp", "from_port": 22, "to_port": 22,
             "ip_ranges": [{"cidr_ip": ssh, "description": checks.SSH_RULE}]},
            *web,
        ],
        "ip_permissions_egress": [{"ip_protocol": "-1", "ip_ranges": [{"cidr_ip": "0.0.0.0/0"}]}],
    }  # fmt: skip
    return {**group, **changes}


TAGS = {"Deployment": "web", "ManagedBy": "m", "Name": "web-web"}


@pytest.mark.parametrize(
    ("group", "https", "current"),
    [
        (_group(), True, True),
        (_group(https=False), False, True),
        ({}, True, False),  # no group yet
        (_group(https=False), True, False),  # HTTPS turned on: 443 must open
        (_group(), False, False),  # HTTPS turned off: 443 must close
        (_group(ssh="198.51.100.1/32"), True, False),  # the operator's address changed
        (_group(tags={"Deployment": "web", "ManagedBy": "m"}), True, False),  # a tag is missing
        (_group(ip_permissions_egress=[]), True, False),  # egress removed by hand
    ],
)
def test_a_group_is_current_only_with_exactly_the_rules_and_tags_deploy_gives(group, https, current):
    assert checks.deployment_group_is_current(group, TAGS, "203.0.113.7/32", https) is current


SCALING_WANTED = {
    "min_size": "2", "max_size": "4", "desired_capacity": "2", "subnets": ["subnet-b", "subnet-a"],
    "target_group_arns": ["arn:tg"], "health_check_type": "ELB", "health_check_grace": "600",
    "default_cooldown": 300, "launch_template": {"name": "web-web", "version": "$Default"}, "tags": TAGS,
}  # fmt: skip
SCALING_FOUND = {
    "name": "web-web", "min_size": 2, "max_size": 4, "desired_capacity": 2, "subnets": ["subnet-a", "subnet-b"],
    "target_group_arns": ["arn:tg"], "health_check_type": "ELB", "health_check_grace": 600, "default_cooldown": 300,
    "launch_template": {"name": "web-web", "version": "$Default"}, "tags": TAGS, "tags_propagated": True,
    "metrics_enabled": True, "instances": ["i-1", "i-2"], "policies": {},
}  # fmt: skip


@pytest.mark.parametrize(
    ("changes", "current"),
    [
        ({}, True),
        ({"desired_capacity": 3}, False),  # scaled out since: deploy sets it back
        ({"subnets": ["subnet-a"]}, False),
        ({"health_check_grace": 300}, False),
        ({"launch_template": {"name": "web-web", "version": "3"}}, False),
        ({"tags": {**TAGS, "Team": "web"}}, False),
        ({"tags_propagated": False}, False),
        ({"metrics_enabled": False}, False),
    ],
)
def test_check_mode_calls_a_scaling_group_unchanged_only_when_it_is_as_deploy_sets_it(changes, current):
    assert checks.deployment_scaling_group_is_current({**SCALING_FOUND, **changes}, SCALING_WANTED) is current
    assert checks.deployment_scaling_group_is_current({}, SCALING_WANTED) is False


@pytest.mark.parametrize(
    ("text", "pinned"),
    [
        ("127.42.0.5 ssh-ed25519 AAAAC3Nza\n", True),
        ("10.0.0.1 ssh-ed25519 AAAA\n127.42.0.5,web ecdsa-sha2-nistp256 AAAA\n", True),
        ("127.42.0.50 ssh-ed25519 AAAA\n", False),  # another address that starts the same
        ("# 127.42.0.5 ssh-ed25519 AAAA\n", False),
        ("", False),
    ],
)
def test_pinned_keys_are_found_by_their_exact_address(text, pinned):
    assert checks.deployment_pins_host(text, "127.42.0.5") is pinned


WANTED = {
    "instance_type": "t3.nano", "key_name": "web-key", "security_group": "sg-1",
    "tags": {"Deployment": "web", "ManagedBy": "m"},
}  # fmt: skip


def _instance(**changes) -> dict:
    instance = {
        "state": {"name": "running"}, "instance_type": "t3.nano", "key_name": "web-key",
        "security_groups": [{"group_id": "sg-1", "group_name": "web-web"}], "monitoring": {"state": "enabled"},
        "metadata_options": {"http_tokens": "required", "http_endpoint": "enabled"},
        "tags": {"Deployment": "web", "ManagedBy": "m", "Name": "web-web"},
    }  # fmt: skip
    return {**instance, **changes}


@pytest.mark.parametrize(
    ("instances", "current"),
    [
        ([_instance()], True),
        ([], False),  # nothing to keep: launch
        ([_instance(), _instance()], False),  # two: ec2_instance brings it to one
        ([_instance(state={"name": "stopped"})], False),
        ([_instance(instance_type="t3.micro")], False),
        # ec2_instance does not change it on a running instance; ec2_detailed_monitoring does.
        ([_instance(monitoring={"state": "disabled"})], True),
        ([_instance(metadata_options={"http_tokens": "optional", "http_endpoint": "enabled"})], False),
        ([_instance(security_groups=[{"group_id": "sg-2"}])], False),
        ([_instance(tags={"Deployment": "web"})], False),
    ],
)
def test_an_instance_is_current_only_when_running_with_every_setting(instances, current):
    assert checks.deployment_instance_is_current(instances, WANTED) is current


POLICY = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject"}]}


def _bucket(**settings) -> dict:
    found = {
        "encryption": ["AES256"], "object_ownership": ["BucketOwnerEnforced"], "policy": POLICY,
        "public_access_block": {"block_public_acls": True, "ignore_public_acls": True,
                                "block_public_policy": False, "restrict_public_buckets": False},
    }  # fmt: skip
    return {"exists": True, "tags": {"Deployment": "web"}, "settings": {**found, **settings}}


@pytest.mark.parametrize(
    ("bucket", "current"),
    [
        (_bucket(), True),
        ({"exists": False, "tags": {}}, False),
        (_bucket(policy=None), False),  # the policy was removed
        (_bucket(encryption=["aws:kms"]), False),
        (_bucket(object_ownership=["ObjectWriter"]), False),
        (_bucket(public_access_block=None), False),
        ({**_bucket(), "tags": {}}, False),
    ],
)
def test_a_bucket_is_current_only_with_every_setting_deploy_gives(bucket, current):
    assert checks.deployment_bucket_is_current(bucket, {"Deployment": "web"}, json.dumps(POLICY)) is current


ALARM_SETTINGS = {
    "name": "web", "region": "us-east-1", "partition": "aws", "instance_id": "i-1", "topic_arn": "arn:t",
    "idle_enabled": True, "idle_threshold": 2.0, "idle_minutes": 60,
    "high_cpu_enabled": True, "high_cpu_threshold": 80.0, "high_cpu_minutes": 10, "high_cpu_actions": ["notify"],
}  # fmt: skip


def _as_aws(spec: dict) -> dict:
    """What DescribeAlarms answers for an alarm made from the spec."""
    return checks._alarm_as_set(spec)


def test_the_alarm_specs_follow_the_settings():
    idle, high, scale_in = checks.deployment_alarm_specs(ALARM_SETTINGS)
    assert scale_in["state"] == "absent", "one instance: no group to scale in"
    assert (idle["name"], idle["evaluation_periods"], idle["alarm_actions"]) == (
        "aaw-web-idle-terminate",
        12,
        ["arn:aws:automate:us-east-1:ec2:terminate"],
    )
    assert (high["alarm_actions"], high["ok_actions"], high["evaluation_periods"]) == (["arn:t"], ["arn:t"], 2)
    reboot_only = checks.deployment_alarm_specs({**ALARM_SETTINGS, "high_cpu_actions": ["reboot"]})[1]
    assert (reboot_only["alarm_actions"], reboot_only["ok_actions"]) == (["arn:aws:automate:us-east-1:ec2:reboot"], [])
    off = checks.deployment_alarm_specs({**ALARM_SETTINGS, "idle_enabled": False})[0]
    assert off["state"] == "absent"


def test_the_alarm_period_sets_how_many_periods_the_minutes_hold():
    idle, high, _ = checks.deployment_alarm_specs({**ALARM_SETTINGS, "period": 10})
    assert (idle["period"], idle["evaluation_periods"], high["evaluation_periods"]) == (10, 360, 60)


@pytest.mark.parametrize(
    ("change", "names"),
    [
        ({}, []),  # as AWS has them: nothing to do
        ({"idle_threshold": 3.0}, ["aaw-web-idle-terminate"]),
        ({"instance_id": "i-2"}, ["aaw-web-idle-terminate", "aaw-web-high-cpu"]),  # a new instance
        ({"high_cpu_actions": ["notify", "reboot"]}, ["aaw-web-high-cpu"]),
        ({"idle_enabled": False}, ["aaw-web-idle-terminate"]),  # to delete
    ],
)
def test_only_the_alarms_that_differ_are_changed(change, names):
    found = {
        spec["name"]: _as_aws(spec)
        for spec in checks.deployment_alarm_specs(ALARM_SETTINGS)
        if spec["state"] == "present"
    }
    specs = checks.deployment_alarm_specs({**ALARM_SETTINGS, **change})
    assert [spec["name"] for spec in checks.deployment_alarms_to_change(specs, found)] == names
    assert [s["name"] for s in checks.deployment_alarms_to_change(specs, {})] == [
        s["name"] for s in specs if s["state"] == "present"
    ]


def test_the_group_mode_scales_on_the_group_average_instead_of_terminating():
    group = {**ALARM_SETTINGS, "group": "web-web", "scale_out_arn": "arn:out", "scale_in_arn": "arn:in"}
    idle, high, scale_in = checks.deployment_alarm_specs(group)
    assert idle["state"] == "absent"
    assert (high["dimensions"], high["alarm_actions"], high["ok_actions"]) == (
        {"AutoScalingGroupName": "web-web"}, ["arn:t", "arn:out"], ["arn:t"],
    )  # fmt: skip
    assert (scale_in["state"], scale_in["alarm_actions"], scale_in["comparison"], scale_in["evaluation_periods"]) == (
        "present", ["arn:in"], "LessThanThreshold", 12,
    )  # fmt: skip
    assert scale_in["dimensions"] == {"AutoScalingGroupName": "web-web"}


def test_group_subnets_are_those_in_offered_zones_by_zone():
    subnets = [
        {"subnet_id": "s-c", "availability_zone": "z-c"},
        {"subnet_id": "s-a", "availability_zone": "z-a"},
        {"subnet_id": "s-b", "availability_zone": "z-b"},
    ]
    assert checks.deployment_group_subnets(subnets, ["z-c", "z-a"]) == ["s-a", "s-c"]
    assert checks.deployment_group_subnets(subnets, ["z-c", "z-b", "z-a"], 2) == ["s-a", "s-b"], "two zones by default"


TOPIC = {"arn": "a", "display_name": "web alarms", "tags": {"D": "w"}, "subscriptions": []}


@pytest.mark.parametrize(
    ("topic", "wanted", "email", "current"),
    [
        ({}, False, "", True),
        (TOPIC, True, "", True),
        (TOPIC, False, "", False),
        ({}, True, "", False),
        (TOPIC, True, "a@b.example", False),
        (
            {"arn": "a", "display_name": "web alarms", "tags": {"D": "w"},
             "subscriptions": [{"protocol": "email", "endpoint": "a@b.example"}]},
            True, "a@b.example", True,
        ),
    ],
)  # fmt: skip
def test_the_topic_is_current_when_sns_alarm_topic_would_change_nothing(topic, wanted, email, current):
    assert checks.deployment_topic_is_current(topic, wanted, "web alarms", {"D": "w"}, email) is current


@pytest.mark.parametrize(
    ("tags", "ours"),
    [
        ({"Deployment": "web", "ManagedBy": "m"}, True),
        ([{"Key": "Deployment", "Value": "web"}, {"Key": "ManagedBy", "Value": "m"}], True),
        ({"Deployment": "web"}, False),  # a tag missing
        ({"Deployment": "shop", "ManagedBy": "m"}, False),
        ({"Deployment": "web", "ManagedBy": "other-tool"}, False),
        ({}, False),
        (None, False),
    ],
)
def test_only_both_of_the_deployment_s_tags_make_a_resource_its_own(tags, ours):
    assert checks.deployment_tagged_for(tags, "web", "m") is ours


def test_resource_names_are_derived_in_one_place_and_a_given_name_wins():
    names = deployment_rules.resource_names("demo", account_id="123456789012", region="eu-west-1")
    assert names["key_pair"] == names["derived_key_pair"] == "demo-key"
    assert names["security_group"] == names["instance"] == "demo-web"
    # Under the prefix the IAM policies scope by name.
    assert names["topic"] == "aaw-demo-alarms" and names["dashboard"] == "aaw-demo"
    assert names["alarm_list"] == ["aaw-demo-idle-terminate", "aaw-demo-high-cpu", "aaw-demo-scale-in"]
    assert (names["group"], names["launch_template"]) == ("demo-web", "demo-web")
    assert (names["balancer"], names["target_group"]) == ("aaw-demo-lb", "aaw-demo-tg"), "the prefix the policy scopes"
    assert names["legacy"] == {
        "balancer": "demo-lb", "target_group": "demo-tg", "topic": "demo-alarms", "dashboard": "demo",
        "alarm_list": ["demo-idle-terminate", "demo-high-cpu", "demo-scale-in"],
        "bucket": "demo-123456789012-eu-west-1",
    }, "what teardown also looks for"  # fmt: skip
    long = deployment_rules.resource_names("a" * 31 + "b")
    assert len(long["balancer"]) <= 32 and len(long["target_group"]) <= 32
    assert long["balancer"] != deployment_rules.resource_names("a" * 31 + "c")["balancer"], "cut names stay apart"
    assert names["bucket"] == "aaw-demo-123456789012-eu-west-1"
    given = deployment_rules.resource_names("demo", key_name="mine", security_group="sg-1", bucket_name="b")
    assert (given["key_pair"], given["security_group"], given["bucket"]) == ("mine", "sg-1", "b")
    assert given["derived_security_group"] == "demo-web" and given["derived_bucket"] == ""
    specs = checks.deployment_alarm_specs(
        {"name": "demo", "region": "r", "partition": "aws", "instance_id": "i-1", "topic_arn": "t",
         "idle_enabled": True, "idle_threshold": 2.0, "idle_minutes": 60,
         "high_cpu_enabled": True, "high_cpu_threshold": 80.0, "high_cpu_minutes": 10, "high_cpu_actions": ["notify"]}
    )  # fmt: skip
    assert [spec["name"] for spec in specs] == names["alarm_list"]


def group_problems(**values):
    base = {"deployment_capacity": 2, "deployment_high_cpu_actions": ["notify"]}
    return deployment_rules.deployment_settings_problems({**base, **values})


def test_group_mode_rules():
    assert group_problems() == []
    assert deployment_rules.group_sizes(2) == {"desired": 2, "min": 2, "max": 4}
    assert deployment_rules.group_sizes(1, 0, 0) == {"desired": 1, "min": 1, "max": 2}
    assert "between deployment_capacity_min (3)" in group_problems(deployment_capacity_min=3)[0]
    assert group_problems(deployment_https=True) == group_problems(deployment_https=False) == []
    assert "grows" in group_problems(deployment_high_cpu_actions=["reboot"])[0]
    assert "deployment_security_group" in group_problems(deployment_security_group="sg-1")[0]
    assert "give 0 to 20" in group_problems(deployment_capacity=21)[0]
    assert deployment_rules.deployment_settings_problems({"deployment_capacity": 0, "deployment_https": True}) == []


def test_the_balancer_listens_on_https_only_with_a_certificate():
    http = checks.deployment_balancer_listeners("arn:tg")
    assert [(listener["Protocol"], listener["Port"]) for listener in http] == [("HTTP", 80)]
    both = checks.deployment_balancer_listeners("arn:tg", "arn:cert")
    assert [(listener["Protocol"], listener["Port"]) for listener in both] == [("HTTP", 80), ("HTTPS", 443)]
    assert both[1]["Certificates"] == [{"CertificateArn": "arn:cert"}]
    assert {a["TargetGroupArn"] for listener in both for a in listener["DefaultActions"]} == {"arn:tg"}
    assert checks.deployment_newest_certificate([]) == ""
    dated = [{"arn": "new", "not_after": "2029-01-01T00:00:00+00:00"}, {"arn": "old", "not_after": "2027-01-01"}]
    assert checks.deployment_newest_certificate(dated) == "new"


def test_a_deployment_keeps_its_mode():
    single = [{"instance_id": "i-1", "tags": {"Deployment": "d"}}]
    grouped = [{"instance_id": "i-2", "tags": {"Deployment": "d", "aws:autoscaling:groupName": "d-web"}}]
    assert "cannot become a group" in checks.deployment_mode_problem(single, 2, "d", "eu-west-1")
    assert "deployment_capacity=<n>" in checks.deployment_mode_problem(grouped, 0, "d", "eu-west-1")
    assert (
        checks.deployment_mode_problem(single, 0, "d", "r")
        == checks.deployment_mode_problem(grouped, 3, "d", "r")
        == ""
    )
    assert checks.deployment_mode_problem([], 2, "d", "r") == ""


def test_the_instance_a_page_shows():
    page = '<tr><th scope="row">Instance ID</th><td>i-0abc123</td></tr>'
    assert checks.deployment_page_instance(page) == "i-0abc123"
    assert checks.deployment_page_instance("<html></html>") == ""


def test_only_resources_with_both_tags_are_the_deployments():
    ours = {"Deployment": "d", "ManagedBy": "m"}
    found = {"group": {"name": "g", "tags": ours}, "balancer": {}, "target_group": {"tags": {"Deployment": "d"}}}
    assert checks.deployment_owned(found, "d", "m") == {"group": {"name": "g", "tags": ours}}
    assert checks.deployment_owned([{"tags": ours}, {}, {"tags": {}}], "d", "m") == [{"tags": ours}]


def test_the_iam_policy_names_every_alarm_deploy_makes():
    from fnmatch import fnmatchcase

    policy = json.loads((Path(__file__).resolve().parents[2] / "policy/iam-policy.json").read_text())
    arns = next(s["Resource"] for s in policy["Statement"] if s["Sid"] == "TheDeploymentAlarms")
    for alarm in deployment_rules.resource_names("demo")["alarm_list"]:
        assert any(fnmatchcase(f"arn:aws:cloudwatch:us-east-1:123456789012:alarm:{alarm}", arn) for arn in arns), alarm
