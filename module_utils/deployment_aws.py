# Copyright: Contributors to the Ansible project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Code the project's AWS modules share.

Modules import it as ``ansible_collections.aws_webserver.core.plugins.module_utils.deployment_aws``
(the project's collection, whose plugins/module_utils is this folder); Ansible ships it to the
module with the module itself. Each function reads AWS through a client the module made (with amazon.aws's
AnsibleAWSModule, so connection options, retries and error reports are the collection's).
"""

from __future__ import annotations

import threading
from urllib.parse import urlsplit, urlunsplit

try:  # the amazon.aws pattern; AnsibleAWSModule reports a missing boto3 or botocore
    import boto3
    import botocore.config
    from botocore.exceptions import BotoCoreError, ClientError, NoRegionError
except ImportError:
    pass

from ansible_collections.amazon.aws.plugins.module_utils.botocore import get_aws_connection_info, is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.exceptions import AnsibleAWSError
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry, RetryingBotoClientWrapper
from ansible_collections.aws_webserver.core.plugins.module_utils.deployment_rules import tag_dict

# S3 Block Public Access: AWS's names and the snake_case names the modules return.
PUBLIC_ACCESS_SETTINGS = {
    "BlockPublicAcls": "block_public_acls",
    "IgnorePublicAcls": "ignore_public_acls",
    "BlockPublicPolicy": "block_public_policy",
    "RestrictPublicBuckets": "restrict_public_buckets",
}


class ModuleError(AnsibleAWSError):
    """What the modules' helpers raise when they cannot go on (the amazon.aws style: helpers raise,
    main() reports). `message` is for the user, `exception` the boto3 error behind it (if any),
    and keyword arguments are extra keys of the failed result."""


def fail(module, error):
    """Ends the module run with `error`, a ModuleError: with the AWS error's code and details
    (fail_json_aws) when there is one behind it, else with the message alone."""
    if error.exception is not None:
        module.fail_json_aws(error.exception, msg=error.message, **error.kwargs)
    module.fail_json(msg=error.message, **error.kwargs)


class ApiCallCounter:
    """Counts the API calls made through the boto3 clients it is attached to, per operation
    (the modules return the counts as api_calls_by_operation, and make bench checks them)."""

    def __init__(self):
        self.by_operation = {}
        self._lock = threading.Lock()  # calls may come from several threads (deployment_info)

    def attach(self, client):
        # module.client() with a retry decorator returns a wrapper around the boto3 client.
        boto_client = getattr(client, "client", client)
        boto_client.meta.events.register("before-call", self._count)
        return client

    def _count(self, model, **kwargs):
        with self._lock:
            self.by_operation[model.name] = self.by_operation.get(model.name, 0) + 1

    @property
    def total(self):
        return sum(self.by_operation.values())


class Clients:
    """The boto3 clients of one module run, made from one boto3 session, each once (also from
    several threads), with amazon.aws's retry wrapper (calls take aws_retry=True) and counted by
    `counter`. Call it with a service name: ``clients("ec2")``.

    amazon.aws's module.client() opens a new session for every client, and each session loads
    botocore's endpoint and service data and resolves the credentials again: six clients took
    0.74 s that way here, 0.27 s from one session. For modules that use several services; the
    connection options are module.client()'s (get_aws_connection_info). Raises ModuleError."""

    def __init__(self, module, counter=None):
        self.counter = counter if counter is not None else ApiCallCounter()
        # Read once, in the thread that makes the object: get_aws_connection_info fails the module
        # run itself on a bad combination (a profile and keys).
        self._region, self._endpoint_url, self._params = get_aws_connection_info(module)
        self._profile = self._params.pop("profile_name", None)
        self._config = botocore.config.Config(user_agent_extra="aws_webserver.core")
        if self._params.get("aws_config") is not None:
            self._config = self._config.merge(self._params.pop("aws_config"))
        self._made = {}
        self._session = None
        self._lock = threading.Lock()  # a boto3 session may make one client at a time

    def __call__(self, service):
        with self._lock:
            if service not in self._made:
                self._made[service] = self.counter.attach(self._make(service))
            return self._made[service]

    def _make(self, service):
        try:
            if self._session is None:
                self._session = boto3.session.Session(profile_name=self._profile)
            client = self._session.client(
                service, region_name=self._region, endpoint_url=self._endpoint_url, config=self._config, **self._params
            )
        except NoRegionError:
            raise ModuleError("No region was given: set deployment_region, or AWS_REGION") from None
        except (ValueError, BotoCoreError) as e:  # a bad endpoint URL, an unknown profile
            raise ModuleError("Couldn't connect to AWS", e) from e
        return RetryingBotoClientWrapper(client, AWSRetry.jittered_backoff())


@AWSRetry.jittered_backoff(catch_extra_error_codes=["SlowDown"])
def paginate(client, operation, **kwargs):
    """Every page of a paginated call as one result (boto3's build_full_result). A throttled or
    transiently failed page (S3's SlowDown included) retries the listing with amazon.aws's jittered
    backoff, as its modules do: boto3's paginators retry no more than botocore's few attempts."""
    return client.get_paginator(operation).paginate(**kwargs).build_full_result()


# CloudWatch's units (MetricDatum Unit in the CloudWatch API reference): what PutMetricData takes
# and GetMetricData filters by. The modules check against this list, so their docs name a few.
CLOUDWATCH_UNITS = (
    "Seconds", "Microseconds", "Milliseconds",
    "Bytes", "Kilobytes", "Megabytes", "Gigabytes", "Terabytes",
    "Bits", "Kilobits", "Megabits", "Gigabits", "Terabits",
    "Percent", "Count",
    "Bytes/Second", "Kilobytes/Second", "Megabytes/Second", "Gigabytes/Second", "Terabytes/Second",
    "Bits/Second", "Kilobits/Second", "Megabits/Second", "Gigabits/Second", "Terabits/Second",
    "Count/Second", "None",
)  # fmt: skip


def unit_problem(option, unit):
    """'' when `unit` is empty or one of CloudWatch's units, else a message naming `option`."""
    if not unit or unit in CLOUDWATCH_UNITS:
        return ""
    close = [u for u in CLOUDWATCH_UNITS if u.lower() == str(unit).lower()]
    hint = f" (did you mean {close[0]}?)" if close else ""
    return f"{option}: {unit!r} is not a CloudWatch unit{hint}; use one of {', '.join(CLOUDWATCH_UNITS)}"


def status_code(error):
    """The HTTP status of a botocore ClientError (0 when there is none)."""
    response = getattr(error, "response", None) or {}
    return int(response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)


def access_denied(error):
    """'Code: message' when the error is a refusal of the permission (HTTP 403), else ''."""
    if status_code(error) != 403:
        return ""
    response = getattr(error, "response", None) or {}
    # S3 Control's errors can come back with the code one level down (Errors.Error).
    detail = response.get("Error") or {}
    if not detail.get("Code"):
        detail = (response.get("Errors") or {}).get("Error") or detail
    return f"{detail.get('Code') or 'AccessDenied'}: {detail.get('Message', '')}".strip(": ")


# --- EC2 instance types -----------------------------------------------------------------------
def describe_instance_type(ec2, instance_type):
    """The type's description, or None when AWS does not know it."""
    try:
        types = ec2.describe_instance_types(InstanceTypes=[instance_type], aws_retry=True)["InstanceTypes"]
    except is_boto3_error_code(["InvalidInstanceType", "InvalidInstanceType.NotFound", "InvalidParameterValue"]):
        return None
    except (ClientError, BotoCoreError) as e:  # pylint: disable=duplicate-except
        raise ModuleError(f"Unable to describe the instance type {instance_type}", e) from e
    return types[0] if types else None


def offering_zones(ec2, instance_type):
    """The availability zones of the client's region that offer the type, sorted."""
    try:
        result = paginate(
            ec2,
            "describe_instance_type_offerings",
            LocationType="availability-zone",
            Filters=[{"Name": "instance-type", "Values": [instance_type]}],
        )
    except (ClientError, BotoCoreError) as e:
        raise ModuleError(f"Unable to list the offerings of the instance type {instance_type}", e) from e
    return sorted({offer["Location"] for offer in result.get("InstanceTypeOfferings", [])})


def instance_type_offering(ec2, instance_type):
    """{exists, offered, availability_zones, architectures, free_tier_eligible} of a type in the region."""
    described = describe_instance_type(ec2, instance_type)
    zones = offering_zones(ec2, instance_type) if described else []
    return {
        "exists": described is not None,
        "offered": bool(zones),
        "availability_zones": zones,
        "architectures": (described or {}).get("ProcessorInfo", {}).get("SupportedArchitectures", []),
        "free_tier_eligible": bool((described or {}).get("FreeTierEligible", False)),
    }


# --- S3 Block Public Access of the account ----------------------------------------------------
def _endpoint_as_given(request, **_kwargs):
    """S3 Control puts the account ID in front of the endpoint's host name (123456789012.s3-control...).
    An endpoint given by address (a local cloud, an endpoint by IP) has no such names: ask it as given."""
    parts = urlsplit(request.url)
    account, _, host = parts.netloc.partition(".")
    if account.isdigit() and len(account) == 12 and host:
        request.url = urlunsplit(parts._replace(netloc=host))


def account_public_access_block(module, client, account_id):
    """The account's S3 Block Public Access settings: {readable, configured, public_access_block[, reason]}.

    `client` is an s3control client from Clients (retrying, counted). A refusal (HTTP 403: the
    credentials lack s3:GetAccountPublicAccessBlock) is not an error: the result says the settings
    could not be read, and why. Other errors raise ModuleError.
    """
    if module.params.get("endpoint_url"):
        client.meta.events.register("before-sign.s3-control.GetPublicAccessBlock", _endpoint_as_given)
    settings = dict.fromkeys(PUBLIC_ACCESS_SETTINGS.values(), False)
    try:
        found = client.get_public_access_block(AccountId=account_id, aws_retry=True)
    except is_boto3_error_code("NoSuchPublicAccessBlockConfiguration"):
        return {"readable": True, "configured": False, "public_access_block": settings}
    except (ClientError, BotoCoreError) as e:  # pylint: disable=duplicate-except
        reason = access_denied(e)
        if not reason:
            raise ModuleError("Unable to read the account's S3 Block Public Access settings", e) from e
        return {"readable": False, "configured": False, "public_access_block": settings, "reason": reason}
    configuration = found.get("PublicAccessBlockConfiguration", {})
    settings.update({snake: bool(configuration.get(camel, False)) for camel, snake in PUBLIC_ACCESS_SETTINGS.items()})
    return {"readable": True, "configured": True, "public_access_block": settings}


# ACM lists only RSA 2048 and RSA 1024 certificates unless ListCertificates names the key types.
ACM_KEY_TYPES = (
    "RSA_1024", "RSA_2048", "RSA_3072", "RSA_4096", "EC_prime256v1", "EC_secp384r1", "EC_secp521r1",
)  # fmt: skip


def tagged_certificates(acm, tags):
    """The certificates in ACM (this region) that carry every tag in `tags`, imported ones only, as
    {arn, domain, not_after (ISO 8601), in_use, tags}: ListCertificates, then the tags of each
    imported certificate (ACM has no listing by tag)."""
    summaries = paginate(acm, "list_certificates", Includes={"keyTypes": list(ACM_KEY_TYPES)})
    found = []
    for summary in summaries.get("CertificateSummaryList", []):
        if summary.get("Type", "IMPORTED") != "IMPORTED":
            continue
        arn = summary["CertificateArn"]
        try:
            described = tag_dict(acm.list_tags_for_certificate(CertificateArn=arn, aws_retry=True).get("Tags"))
        except is_boto3_error_code("ResourceNotFoundException"):
            continue  # deleted since the listing
        if any(described.get(key) != value for key, value in tags.items()):
            continue
        not_after = summary.get("NotAfter")
        found.append({
            "arn": arn, "domain": summary.get("DomainName", ""), "in_use": bool(summary.get("InUse")),
            "not_after": not_after.isoformat() if hasattr(not_after, "isoformat") else str(not_after or ""),
            "tags": described,
        })  # fmt: skip
    return found


def sns_topic(sns, arn, subscriptions=True, tags=True):
    """The SNS topic of that ARN as {arn, display_name, tags, subscriptions: [{protocol, endpoint}]}
    (tags and subscriptions only when asked), or None when there is none. Asked by its ARN
    (GetTopicAttributes), where ListTopics would page through every topic of the account. `sns` is
    a client with amazon.aws's retry wrapper. Raises ModuleError naming the permission."""
    name = arn.rsplit(":", 1)[-1]
    permission = "sns:GetTopicAttributes"
    try:
        attributes = sns.get_topic_attributes(TopicArn=arn, aws_retry=True)["Attributes"]
        permission = "sns:ListTagsForResource"
        tagged = sns.list_tags_for_resource(ResourceArn=arn, aws_retry=True).get("Tags") if tags else None
        permission = "sns:ListSubscriptionsByTopic"
        listed = paginate(sns, "list_subscriptions_by_topic", TopicArn=arn)["Subscriptions"] if subscriptions else None
    except is_boto3_error_code(["NotFound", "NotFoundException"]):
        return None
    except (ClientError, BotoCoreError) as e:  # pylint: disable=duplicate-except
        raise ModuleError(f"Could not read the topic {name} ({permission})", e) from e
    found = {"arn": arn, "display_name": attributes.get("DisplayName", "")}
    if tags:
        found["tags"] = tag_dict(tagged)
    if listed is not None:
        found["subscriptions"] = [{"protocol": s["Protocol"], "endpoint": s["Endpoint"]} for s in listed]
    return found
