"""IAM enforcement on the local cloud (LOCALCLOUD_IAM=enforce): every call authorised as AWS does.

moto authenticates every signed request once INITIAL_NO_AUTH_ACTION_COUNT is 0 (set before moto is
imported). This module replaces its authorisation with AWS's:

- The fixed access key (`localcloud`/`localcloud`) belongs to the account's administrator, so
  the local cloud's own tools, its metrics publisher and the tests' setup keep working.
- Each request becomes the checks AWS makes (iam_requests.py: the action on every resource type the
  Service Authorization Reference lists, with ARNs and the request context built from the request
  and the resources' tags at the time of the call, and the actions it depends on), each decided by
  the caller's identity policies (iam_policy.py: conditions, wildcards, Deny over Allow).
- S3 requests are checked under AWS's IAM action names (s3:PutEncryptionConfiguration,
  s3:GetAccountPublicAccessBlock, s3:ListBucket for HeadBucket...), where moto uses others.
- Anonymous S3 reads (a browser loading the page's image) are judged by the bucket policy and
  Block Public Access, as on AWS, instead of failing for want of a signature; moto reads bucket
  policies with its own statement class, corrected here (a failed condition on an Allow makes the
  statement not apply; IAM's wildcards, not regular expressions).

What the local cloud cannot know, and so does not check (the README's "IAM on the local cloud"
says the same): resource-based policies other than bucket policies, permission boundaries,
session policies and an organisation's SCPs and RCPs; service condition keys the project's
policies do not use (left out of the context, so a policy testing them fails closed); a KMS key's
own policy and what Auto Scaling's service-linked role may do with it; the ARN a created resource
will have (its type's wildcard is checked); actions the reference does not hold (checked on "*"
alone, and logged).
"""

from __future__ import annotations

import json
import logging
import os
from typing import Any
from urllib.parse import urlparse
from xml.etree import ElementTree

from . import config, iam_requests
from .iam_policy import Check, Decision, Outcome, evaluate, iam_match

LOG = logging.getLogger("localcloud")

ADMIN_POLICY = '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}'


def prepare_environment(settings: config.Settings) -> None:
    """Before moto is imported: every request is authenticated and authorised."""
    if settings.iam_enforced:
        os.environ["INITIAL_NO_AUTH_ACTION_COUNT"] = "0"


def install(settings: config.Settings) -> None:
    if not settings.iam_enforced:
        return
    _create_admin()
    _install_anonymous_s3()
    _install_s3_action_names()
    _install_bucket_policy_statements()
    _install_policy_evaluation()


def _create_admin() -> None:
    from moto.iam.models import iam_backends

    backend = iam_backends[config.ACCOUNT_ID]["aws"]
    backend.create_user(region_name="us-east-1", user_name=config.ADMIN_USER)
    backend.put_user_policy(config.ADMIN_USER, "AdministratorAccess", ADMIN_POLICY)
    key = backend.create_access_key(config.ADMIN_USER)
    backend.access_keys.pop(key.physical_resource_id, None)
    key.access_key_id = config.ACCESS_KEY_ID
    key.secret_access_key = config.SECRET_ACCESS_KEY
    backend.access_keys[key.physical_resource_id] = key


def _install_anonymous_s3() -> None:
    from moto.core.authorization import ActionAuthenticatorMixin

    authorize_s3 = ActionAuthenticatorMixin._authenticate_and_authorize_s3_action

    def _authenticate_and_authorize_s3_action(self: Any, bucket_name: str | None = None, key_name: str | None = None):
        query = getattr(self, "querystring", {}) or {}
        signed = "Authorization" in self.headers or "X-Amz-Signature" in query or "Signature" in query
        if not signed:
            return None  # anonymous: S3's key response has applied the bucket policy and the blocks
        return authorize_s3(self, bucket_name=bucket_name, key_name=key_name)

    ActionAuthenticatorMixin._authenticate_and_authorize_s3_action = _authenticate_and_authorize_s3_action


# The IAM actions AWS checks for S3's bucket sub-resources ("Actions, resources, and condition keys
# for Amazon S3" in the Service Authorization Reference). moto checks most of them as ListBucket or
# CreateBucket, some under the API's name (HeadBucket), and S3 Control's under its API name.
S3_BUCKET_ACTIONS = {
    "HEAD": {"DEFAULT": "ListBucket"},
    "GET": {
        "encryption": "GetEncryptionConfiguration",
        "ownershipControls": "GetBucketOwnershipControls",
        "publicAccessBlock": "GetBucketPublicAccessBlock",
        "inventory": "GetInventoryConfiguration",
        "object-lock": "GetBucketObjectLockConfiguration",
        "requestPayment": "GetBucketRequestPayment",
        "metrics": "GetMetricsConfiguration",
    },
    "PUT": {
        "encryption": "PutEncryptionConfiguration",
        "ownershipControls": "PutBucketOwnershipControls",
        "publicAccessBlock": "PutBucketPublicAccessBlock",
        "inventory": "PutInventoryConfiguration",
        "object-lock": "PutBucketObjectLockConfiguration",
        "requestPayment": "PutBucketRequestPayment",
        "metrics": "PutMetricsConfiguration",
    },
    "DELETE": {
        "encryption": "PutEncryptionConfiguration",
        "ownershipControls": "PutBucketOwnershipControls",
        "publicAccessBlock": "PutBucketPublicAccessBlock",
        "inventory": "PutInventoryConfiguration",
        "metrics": "PutMetricsConfiguration",
    },
}
S3_ACCOUNT_ACTIONS = {
    "GET": "GetAccountPublicAccessBlock",
    "PUT": "PutAccountPublicAccessBlock",
    "DELETE": "PutAccountPublicAccessBlock",
}
IAM_PREFIXES = {"monitoring": "cloudwatch"}
S3_CONTROL_PUBLIC_ACCESS_BLOCK = "/v20180820/configuration/publicAccessBlock"


def _install_s3_action_names() -> None:
    from moto.iam.access_control import IAMRequestBase
    from moto.s3 import responses

    for method, actions in S3_BUCKET_ACTIONS.items():
        for query, action in actions.items():
            responses.ACTION_MAP["BUCKET"][method].pop(query.replace("publicAccessBlock", "public_access_block"), None)
            responses.ACTION_MAP["BUCKET"][method][query] = action

    init = IAMRequestBase.__init__

    def _init_with_iam_names(self: Any, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **kwargs)
        service, _, action = self._action.partition(":")
        # The signing name is not always IAM's service prefix (CloudWatch signs as "monitoring").
        self._action = f"{IAM_PREFIXES.get(service, service)}:{action}"
        if self._service == "s3" and self._path.startswith(S3_CONTROL_PUBLIC_ACCESS_BLOCK):
            self._action = f"s3:{S3_ACCOUNT_ACTIONS.get(self._method, 'GetAccountPublicAccessBlock')}"

    IAMRequestBase.__init__ = _init_with_iam_names


def _install_bucket_policy_statements() -> None:
    """moto reads bucket policies (anonymous reads) with its IAMPolicyStatement: a failed condition
    on an Allow makes the statement not apply (moto denied outright), and wildcards are IAM's."""
    from moto.iam.access_control import IAMPolicyStatement, PermissionResult

    def is_action_permitted(
        self: Any,
        action: str,
        resource: str = "*",
        principal: str | None = None,
        incoming_condition_values: dict[str, str] | None = None,
    ) -> PermissionResult:
        statement = self._statement
        if "NotAction" in statement:
            concerned = not self._check_element_matches("NotAction", action)
        else:
            concerned = self._check_element_matches("Action", action)
        if not concerned or self.is_unknown_principal(statement.get("Principal")):
            return PermissionResult.NEUTRAL
        if principal and not self._check_principal(principal):
            return PermissionResult.DENIED
        if incoming_condition_values is not None and not self._check_conditions(incoming_condition_values):
            return PermissionResult.NEUTRAL
        if statement.get("Resource") and resource != "*" and not self._check_element_matches("Resource", resource):
            return PermissionResult.NEUTRAL
        return PermissionResult.PERMITTED if statement.get("Effect") == "Allow" else PermissionResult.DENIED

    IAMPolicyStatement.is_action_permitted = is_action_permitted
    IAMPolicyStatement._match = staticmethod(lambda pattern, value: iam_match(pattern, value) or None)


class MotoInventory:
    """The account's resources as moto holds them, for iam_requests (tags at the time of the call)."""

    def __init__(self, account: str) -> None:
        self.account = account

    def _backend(self, name: str, region: str) -> Any:
        import importlib

        module = importlib.import_module(f"moto.{name}.models")
        return getattr(module, f"{name}_backends")[self.account][region]

    def ec2_tags(self, region: str, resource_id: str) -> dict[str, str]:
        return dict(self._backend("ec2", region).tags.get(resource_id, {})) if resource_id else {}

    def ec2_key_pair_id(self, region: str, name: str) -> str | None:
        return getattr(self._backend("ec2", region).key_pairs.get(name), "id", None)

    def ec2_security_group_id(self, region: str, name: str, vpc_id: str | None) -> str | None:
        group = self._backend("ec2", region).get_security_group_from_name(name, vpc_id)
        return group.id if group else None

    def ec2_default_vpc(self, region: str) -> str | None:
        return next((v.id for v in self._backend("ec2", region).vpcs.values() if v.is_default), None)

    def ec2_default_subnet(self, region: str) -> str | None:
        vpc = self.ec2_default_vpc(region)
        subnets = [
            subnet
            for zone in self._backend("ec2", region).subnets.values()
            for subnet in zone.values()
            if subnet.vpc_id == vpc and subnet.default_for_az
        ]
        return min(subnets, key=lambda subnet: subnet.availability_zone).id if subnets else None

    def ec2_launch_template(self, region: str, template_id: str, name: str) -> tuple[str, dict] | None:
        backend = self._backend("ec2", region)
        template_id = template_id or backend.launch_template_name_to_ids.get(name, "")
        if template_id not in backend.launch_templates:
            return None
        return template_id, self.ec2_tags(region, template_id)

    def ec2_default_ebs_key(self, region: str) -> str:
        from .motopatch import ebs_default_key

        return ebs_default_key(self._backend("ec2", region))

    def tags_by_arn(self, service: str, region: str, arn: str) -> dict[str, str]:
        if service == "elasticloadbalancing":
            return dict(self._backend("elbv2", region).tagging_service.get_tag_dict_for_resource(arn))
        if service == "acm":
            bundle = self._backend("acm", region)._certificates.get(arn)
            return {key: value or "" for key, value in bundle.tags.items()} if bundle else {}
        if service == "sns":
            topic = self._backend("sns", region).topics.get(arn)
            return dict(topic._tags) if topic else {}
        if service == "cloudwatch":
            return dict(self._backend("cloudwatch", region).tagger.get_tag_dict_for_resource(arn))
        return {}

    def autoscaling_group(self, region: str, name: str) -> tuple[str, dict[str, str]] | None:
        group = self._backend("autoscaling", region).autoscaling_groups.get(name)
        if group is None:
            return None
        return group.arn, {tag["Key"]: tag.get("Value", "") for tag in group.tags}

    def service_linked_role_exists(self, service_name: str) -> bool:
        from moto.iam.models import iam_backends

        roles = iam_backends[self.account]["aws"].roles.values()
        return any(role.path == f"/aws-service-role/{service_name}/" for role in roles)


def refusal(principal: str, check: Check, outcome: Outcome) -> str:
    """AWS's words for a refused check (IAM User Guide, "Troubleshoot access denied error messages")."""
    why = (
        f"with an explicit deny in an identity-based policy ({outcome.statement})"
        if outcome.decision is Decision.EXPLICIT_DENY
        else f"because no identity-based policy allows the {check.action} action"
    )
    also = f" ({check.reason})" if check.reason else ""
    return f"User: {principal} is not authorized to perform: {check.action} on resource: {check.resource}{also} {why}"


def documents(policies: list[Any]) -> list[dict]:
    """moto's collected policies (managed policy objects, inline documents) as parsed documents."""
    from moto.iam.models import Policy

    parsed = []
    for policy in policies:
        if isinstance(policy, Policy):
            text = next(version.document for version in policy.versions if version.is_default)
        elif isinstance(policy, str):
            text = policy
        else:
            text = policy["policy_document"]
        parsed.append(json.loads(text) if isinstance(text, str) else text)
    return parsed


def authorise(request: iam_requests.Request, policies: list[dict], inventory: Any) -> tuple[list[Check], str]:
    """The checks of `request` and the refusal's message ('' when every check is allowed)."""
    try:
        wanted = iam_requests.checks(request, inventory)
    except KeyError:
        LOG.warning("IAM: %s is not in the Service Authorization Reference: checked on * alone", request.action)
        wanted = [Check(request.action, "*", {})]
    for check in wanted:
        outcome = evaluate(policies, check)
        if outcome.decision is not Decision.ALLOW:
            return wanted, refusal(request.principal_arn, check, outcome)
    return wanted, ""


def _install_policy_evaluation() -> None:
    from moto import settings as moto_settings
    from moto.core.authorization import ActionAuthenticatorMixin
    from moto.core.exceptions import AccessDeniedError
    from moto.iam.access_control import S3IAMRequest
    from moto.s3.exceptions import S3ClientError

    class RefusedError(AccessDeniedError):
        def __init__(self, code: str, message: str) -> None:  # pylint: disable=super-init-not-called
            super(AccessDeniedError, self).__init__(code, message)  # skips moto's fixed message

    def _authenticate_and_authorize_action(self: Any, iam_request_cls: type, resource: str = "*") -> None:
        if ActionAuthenticatorMixin.request_count < moto_settings.INITIAL_NO_AUTH_ACTION_COUNT:
            ActionAuthenticatorMixin.request_count += 1
            return
        if self.headers.get("X-Amz-Target") in ActionAuthenticatorMixin.PUBLIC_OPERATIONS:
            return
        query = urlparse(self.uri).query
        iam_request = iam_request_cls(
            account_id=self.current_account,
            method=self.method,
            path=self.raw_path + (f"?{query}" if query else ""),
            data=self.data,
            body=self.raw_body,
            headers=self.headers,
            action=self._get_action(),
        )
        iam_request.check_signature()
        principal = iam_request._access_key.arn
        if iam_request._action == "sts:GetCallerIdentity" or principal.endswith(f":user/{config.ADMIN_USER}"):
            return  # GetCallerIdentity needs no permission; the administrator may do anything
        s3 = iam_request_cls is S3IAMRequest
        request = iam_requests.Request(
            action=iam_request._action,
            params={} if s3 else _parsed_parameters(self),
            region=iam_request._region,
            account=self.current_account,
            principal_arn=principal,
            s3_resource=resource if s3 else "",
            s3_objects=_deleted_keys(self) if s3 else (),
        )
        policies = documents(iam_request._access_key.collect_policies())
        wanted, refused = authorise(request, policies, MotoInventory(self.current_account))
        if refused:
            LOG.info("IAM: %s", refused)
            if s3:
                raise S3ClientError("AccessDenied", refused)
            raise RefusedError(
                "UnauthorizedOperation" if request.action.startswith("ec2:") else "AccessDenied", refused
            )
        _make_service_linked_roles(wanted, self.current_account)

    ActionAuthenticatorMixin._authenticate_and_authorize_action = _authenticate_and_authorize_action


def _parsed_parameters(response: Any) -> dict:
    """The request's parameters as botocore shapes them, whatever the protocol (moto's own parser)."""
    params = getattr(response, "params", None)
    if not isinstance(params, dict) or not params:
        try:
            response.parse_parameters(response.normalized_request)
            params = response.params
        except Exception:  # noqa: BLE001 - an operation moto cannot parse is checked without parameters
            LOG.warning("IAM: could not read the parameters of %s", response._get_action())
            params = {}
    return dict(params or {})


def _deleted_keys(response: Any) -> tuple[str, ...]:
    """The keys of an S3 DeleteObjects request (POST ?delete), which AWS authorises one by one."""
    if response.method != "POST" or "delete" not in (response.querystring or {}):
        return ()
    try:
        root = ElementTree.fromstring(response.raw_body or b"")  # noqa: S314 - the body moto parses next itself
    except ElementTree.ParseError:
        return ()
    return tuple(e.text or "" for e in root.iter() if e.tag.rsplit("}", 1)[-1] == "Key")


def _make_service_linked_roles(checks_made: list[Check], account: str) -> None:
    """A service-linked role the caller was allowed to make exists from now on, as on AWS."""
    from moto.iam.models import iam_backends

    for check in checks_made:
        service = check.context.get("iam:awsservicename", "")
        if (
            check.action == "iam:CreateServiceLinkedRole"
            and check.reason  # made by another call's first use, not asked for by name
            and service
            and not MotoInventory(account).service_linked_role_exists(service)
        ):
            iam_backends[account]["aws"].create_service_linked_role(service, "", "")
