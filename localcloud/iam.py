"""IAM enforcement on the local cloud (LOCALCLOUD_IAM=enforce), to prove a policy before AWS.

moto checks every signed request against the caller's IAM policies once
INITIAL_NO_AUTH_ACTION_COUNT is 0 (set before moto is imported). This module makes that usable:

- The fixed access key (`localcloud`/`localcloud`) belongs to the account's administrator, so
  the local cloud's own tools, its metrics publisher and the tests' setup keep working.
- S3 requests are checked under AWS's IAM action names (s3:PutEncryptionConfiguration,
  s3:GetAccountPublicAccessBlock, s3:ListBucket for HeadBucket...), where moto uses others.
- Anonymous S3 reads (a browser loading the page's image) are judged by the bucket policy and
  Block Public Access, as on AWS, instead of failing for want of a signature.
- moto knows the resource of S3 requests only, and none of a request's condition keys
  (aws:RequestTag, aws:ResourceTag, ec2:CreateAction...). A statement's Resource is taken to
  match when moto has no resource ("*"), and a condition moto cannot evaluate is taken to hold.
  So the local cloud proves which *actions* a policy grants (and S3's resources); its resource
  ARNs and tag conditions are checked against AWS's documentation, not here. moto's own rule
  that a failed condition on an Allow denies outright (a bug) is replaced by AWS's: the
  statement does not apply. Wildcards are read as IAM reads them (* and ?), not as regular expressions.
- Tags given to a call that creates a resource are authorised as AWS authorises them: as a second
  action (sns:TagResource for CreateTopic, ec2:CreateTags for RunInstances...), which moto skips.
"""

from __future__ import annotations

import json
import os
import re
from typing import Any

from . import config

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
    _install_policy_evaluation()
    _install_tagging_on_create()


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
# Tagging at creation: AWS also checks the service's tagging action when a call that creates a
# resource carries tags (the API references: "To be able to tag a topic on creation, you must have
# the sns:CreateTopic and sns:TagResource permissions"; EC2's "Grant permission to tag resources
# during creation"; Elastic Load Balancing's and ACM's "tag on create"). Service: (the request's
# tag parameter, the action).
TAGGING_ON_CREATE = {
    "ec2": ("TagSpecification", "ec2:CreateTags"),
    "sns": ("Tags", "sns:TagResource"),
    "elasticloadbalancing": ("Tags", "elasticloadbalancing:AddTags"),
    "acm": ("Tags", "acm:AddTagsToCertificate"),
}
CREATING = ("Create", "Run", "Import", "Request", "Allocate", "Copy")
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


def _install_policy_evaluation() -> None:
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
    IAMPolicyStatement._match = staticmethod(iam_match)


def tagging_action(action: str, data: Any, body: Any) -> str | None:
    """The tagging action AWS also checks for this request (`action` as IAM names it), or None:
    only for a call that creates a resource and carries tags (query parameters or a JSON body)."""
    service, _, name = action.partition(":")
    if service not in TAGGING_ON_CREATE or not name.startswith(CREATING):
        return None
    parameter, tagging = TAGGING_ON_CREATE[service]
    if any(str(key).startswith(f"{parameter}.") for key in data or {}):  # a list with members
        return tagging
    try:
        document = json.loads(body or b"{}")
    except (TypeError, ValueError):
        return None
    return tagging if isinstance(document, dict) and document.get(parameter) else None


def _install_tagging_on_create() -> None:
    from moto.iam.access_control import IAMRequestBase

    check = IAMRequestBase.check_action_permitted

    def check_action_permitted(self: Any, resource: str) -> None:
        check(self, resource)
        tagging = tagging_action(self._action, self._data, self._body)
        if tagging:
            action, self._action = self._action, tagging  # the denial names the tagging action
            try:
                check(self, resource)
            finally:
                self._action = action

    IAMRequestBase.check_action_permitted = check_action_permitted


def iam_match(pattern: str, value: str) -> re.Match[str] | None:
    """IAM's wildcards: * any run of characters, ? one character, everything else literal
    (moto reads the pattern as a regular expression, where ? and . mean something else)."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, re.S)
