# Copyright: Contributors to the Ansible project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What an AWS error means and what to do, for the deployment role's failure messages.

- ``failed_result | deployment_aws_advice(endpoint_url, region)``: credentials, endpoint,
  permissions, region.
- ``failed_result | deployment_aws_unusable(endpoint_url, region)``: "Could not use AWS in <region>
  (at <endpoint>): <the error>. <the advice>", for a run's first AWS calls.
- ``failed_result | deployment_launch_advice(instance_type, region)``: RunInstances errors (quotas,
  capacity, free tier, instance type not offered).
- ``offering | deployment_offering_problem(architecture, region)``: why an instance type cannot be
  used, from the ec2_instance_type_offering module's result.
- ``uri_result | deployment_fetch_problem``: why a URL did not answer, from a uri (HEAD) result.
"""

from __future__ import annotations

import re

from ansible_collections.aws_webserver.core.plugins.module_utils.deployment_http import fetch_problem

ERROR_CODE = re.compile(r"\(([A-Za-z][A-Za-z0-9.]+)\) when calling")


PROFILE_NOT_FOUND = re.compile(r"The config profile \((.+?)\) could not be found")


def _error(result) -> tuple[str, str]:
    """(error code, message) of a failed amazon.aws task result or a plain message."""
    if isinstance(result, dict):
        msg = str(result.get("msg", ""))
        code = str((result.get("error") or {}).get("code", "") or "")
    else:
        msg, code = str(result), ""
    if not code:
        match = ERROR_CODE.search(msg)
        code = match.group(1) if match else ""
    return code, msg


def deployment_aws_advice(result, endpoint_url: str = "", region: str = "") -> str:
    """What to do about an AWS error that is not about one resource: credentials, endpoint,
    permissions, region."""
    code, msg = _error(result)
    where = f"at {endpoint_url}" if endpoint_url else f"in {region}"
    if "Unable to locate credentials" in msg or "NoCredentials" in msg or "Partial credentials" in msg:
        local = (
            " The local cloud accepts any values; the local inventory sets deployment_access_key and "
            "deployment_secret_key for it: do not set them empty."
            if endpoint_url
            else ""
        )
        return (
            "No AWS credentials were found. Configure them with 'aws configure', or set AWS_PROFILE=<profile>, "
            f"or export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, then run again.{local}"
        )
    profile = PROFILE_NOT_FOUND.search(msg)
    if profile:
        return (
            f"The AWS profile {profile.group(1)!r} does not exist in ~/.aws/config or ~/.aws/credentials. "
            "List the profiles with 'aws configure list-profiles', then set AWS_PROFILE (or -e deployment_profile) "
            "to one of them, or unset it to use the default credentials."
        )
    if "Passing both a profile and access tokens is not supported" in msg:
        return (
            "Both a profile (AWS_PROFILE or deployment_profile) and access keys (AWS_ACCESS_KEY_ID or "
            "deployment_access_key) are set, and they may name different accounts. Keep one: unset AWS_PROFILE "
            "and deployment_profile, or unset the access key variables."
        )
    if "Could not connect to the endpoint URL" in msg or "Connect timeout" in msg or "ConnectionClosedError" in msg:
        if endpoint_url:
            return (
                f"Nothing answers at {endpoint_url}. Is the local cloud running? Start it with 'make up' "
                "(or '.venv/bin/localcloud up'), or correct AWS_ENDPOINT_URL / deployment_endpoint_url."
            )
        return (
            f"AWS's endpoint {where} did not answer. Check this machine's internet connection and proxy "
            "settings, and that the region exists."
        )
    if code in ("InvalidClientTokenId", "SignatureDoesNotMatch", "AuthFailure", "UnrecognizedClientException"):
        return (
            f"AWS rejected the credentials ({code}): the access key is wrong or deactivated, or the secret key "
            "does not match it. Check them with 'aws sts get-caller-identity' and configure working ones."
        )
    if code in ("ExpiredToken", "ExpiredTokenException", "RequestExpired") or "expired" in msg.lower():
        return (
            "The credentials have expired. Renew them ('aws sso login' for SSO profiles, or new temporary "
            "credentials) and run again; if the clock of this machine is wrong, correct it."
        )
    if code in ("OptInRequired", "SubscriptionRequiredException"):
        return (
            f"The account cannot use this service {where} yet ({code}): a new account may still be being "
            "verified, or the region is not enabled (AWS console, Account, AWS Regions). "
            "Wait for the verification e-mail, enable the region, or choose another with -e deployment_region=<region>."
        )
    if code in ("UnauthorizedOperation", "AccessDenied", "AccessDeniedException") or "not authorized" in msg:
        return (
            f"The credentials lack the permissions for this ({code or 'access denied'}). Attach the project's "
            "IAM policy policy/iam-policy.json to the IAM user or role (README, Deploying to AWS), or use "
            "another profile with AWS_PROFILE=<profile>."
        )
    if code in ("BucketAlreadyExists",):
        return (
            "S3 bucket names are global across all AWS accounts and this one belongs to someone else. "
            "Choose another with -e deployment_bucket_name=<name>, or leave it empty for aaw-<name>-<account>-<region>."
        )
    return "Check the credentials, the region and the settings named in the error, then run again."


def deployment_aws_unusable(result, endpoint_url: str = "", region: str = "") -> str:
    """The message of a run whose first AWS call failed: where, the error, and what to do."""
    where = f"{region} at {endpoint_url}" if endpoint_url else region
    said = str(result.get("msg", "") if isinstance(result, dict) else result) or "unknown error"
    return f"Could not use AWS in {where}: {said}. {deployment_aws_advice(result, endpoint_url, region)}"


def deployment_launch_advice(result, instance_type: str, region: str) -> str:
    """One message for a failed RunInstances: what failed, why, and which setting to change."""
    code, msg = _error(result)
    detail = msg.split(" operation: ", 1)[-1] if " operation: " in msg else msg
    head = f"AWS did not launch the {instance_type} instance in {region} ({code or 'error'}: {detail.strip()})."
    change_type = f"-e deployment_instance_type=<type> (for example t3.micro instead of {instance_type})"
    if "free tier" in msg.lower() or "free-tier" in msg.lower():
        why = (
            "The account is on AWS's free plan, which launches only free-tier eligible instance types. "
            "Use one: -e deployment_instance_type=t3.micro (or t2.micro where t3 is not offered), "
            "or upgrade the account to a paid plan."
        )
    elif code in ("InstanceLimitExceeded", "VcpuLimitExceeded", "MaxSpotInstanceCountExceeded"):
        why = (
            "The account has reached its quota of running instances or vCPUs for this instance family in "
            f"{region}. Stop or terminate instances you no longer need (an older deployment: playbooks/teardown.yml), "
            f"choose a smaller type with {change_type}, deploy to another region with -e deployment_region=<region>, "
            "or ask for a higher quota (Service Quotas, Amazon EC2, Running On-Demand Standard instances)."
        )
    elif code == "InsufficientInstanceCapacity":
        why = (
            f"AWS has no spare {instance_type} capacity in that availability zone right now. Run again in a few "
            f"minutes, or choose another type with {change_type}, or another region with -e deployment_region=<region>."
        )
    elif code == "Unsupported" or "not supported in your requested Availability Zone" in msg:
        why = (
            f"{instance_type} is not offered in the availability zone of {region} that AWS picked. Choose a type "
            f"offered there with {change_type}, or another region; 'aws ec2 describe-instance-type-offerings "
            f"--location-type availability-zone --filters Name=instance-type,Values={instance_type} --region {region}' "
            "lists the zones that have it."
        )
    elif code.startswith("InvalidInstanceType") or ("instanceType" in msg and code == "InvalidParameterValue"):
        why = f"AWS does not know the instance type {instance_type} in {region}. Choose another with {change_type}."
    elif code.startswith("InvalidKeyPair"):
        why = "The key pair is missing in this region. Run again: the key pair step creates or imports it."
    elif code.startswith("InvalidGroup"):
        why = "The security group is missing. Check deployment_security_group, or leave it empty to create one."
    elif code.startswith("InvalidAMIID"):
        why = (
            "The AMI cannot be launched here. Check deployment_ami_family and deployment_architecture "
            "(an arm64 type such as t4g.nano needs deployment_architecture=arm64)."
        )
    else:
        why = deployment_aws_advice(result, "", region)
    return (
        f"{head} {why} Nothing of the instance was created; the key pair and security group may exist "
        "and are reused when you run again."
    )


def deployment_offering_problem(offering: dict, architecture: str, region: str) -> str:
    """Why an instance type cannot be used, from ec2_instance_type_offering's result ('' when it can)."""
    if not offering.get("exists"):
        return "AWS has no instance type of that name"
    if not offering.get("offered"):
        return f"no availability zone of {region} offers it"
    architectures = offering.get("architectures") or []
    if architecture not in architectures:
        return (
            f"it runs {' or '.join(architectures)}, and deployment_architecture is {architecture} "
            f"(set -e deployment_architecture={architectures[0]} with it, or choose an {architecture} type)"
        )
    return ""


def deployment_fetch_problem(result: dict) -> str:
    """Why a URL did not answer, from an ansible.builtin.uri result of a HEAD request ('' when it did)."""
    return fetch_problem(int(result.get("status", -1)), result.get("msg"))


class FilterModule:
    def filters(self):
        return {
            "deployment_aws_advice": deployment_aws_advice,
            "deployment_aws_unusable": deployment_aws_unusable,
            "deployment_launch_advice": deployment_launch_advice,
            "deployment_offering_problem": deployment_offering_problem,
            "deployment_fetch_problem": deployment_fetch_problem,
        }
