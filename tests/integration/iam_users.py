"""IAM users of a local cloud that enforces IAM, holding exactly the shipped policies.

test_iam.py (single mode, a missing permission, the KMS policy) and test_iam_group.py (the group
mode, the fence around other teams' resources) each run their own such cloud (conftest's
`iam_cloud`), so the two long runs share no worker.
"""

from __future__ import annotations

import json
import uuid

from conftest import RETRIES, ROOT, LocalCloud

POLICY = json.loads((ROOT / "policy/iam-policy.json").read_text())
# The group mode's permissions (deployment_capacity), attached next to POLICY.
GROUP_POLICY = json.loads((ROOT / "policy/iam-policy-group.json").read_text())


def granted(policy: dict) -> set[str]:
    return {
        action
        for statement in policy["Statement"]
        for action in ([statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"])
    }


def user_with(cloud: LocalCloud, policy: dict, *more: dict) -> dict[str, str]:
    """A new IAM user whose only permissions are `policy` (and `more`); its keys as -e values."""
    iam = cloud.client("iam")
    name = f"deployer-{uuid.uuid4().hex[:6]}"
    iam.create_user(UserName=name)
    iam.put_user_policy(UserName=name, PolicyName="webserver", PolicyDocument=json.dumps(policy))
    for number, extra in enumerate(more):
        iam.put_user_policy(UserName=name, PolicyName=f"webserver-{number}", PolicyDocument=json.dumps(extra))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return {"deployment_access_key": key["AccessKeyId"], "deployment_secret_key": key["SecretAccessKey"]}


def client_as(cloud: LocalCloud, keys: dict[str, str], service: str):
    """A boto3 client of the local cloud signing with a test user's keys (user_with)."""
    import boto3

    return boto3.client(
        service,
        endpoint_url=cloud.endpoint,
        region_name="us-east-1",
        aws_access_key_id=keys["deployment_access_key"],
        aws_secret_access_key=keys["deployment_secret_key"],
        config=RETRIES,
    )


def policy_without(action: str) -> dict:
    """The shipped policy less one action."""
    policy = json.loads(json.dumps(POLICY))
    for statement in policy["Statement"]:
        if isinstance(statement["Action"], list) and action in statement["Action"]:
            statement["Action"].remove(action)
    assert action not in granted(policy)
    return policy


def as_user(keys: dict[str, str], name: str, *args: str) -> list[str]:
    return ["-e", json.dumps({**keys, "deployment_name": name}), *args]


def injected(cloud: LocalCloud) -> dict[str, int]:
    """How many calls the cloud's fault rules answered with an error so far, by error."""
    return {str(rule["error"]): rule["injected"] for rule in cloud.faults()}
