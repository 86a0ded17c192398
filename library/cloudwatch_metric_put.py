#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: Contributors to this project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Ansible module layout: the documentation strings come before the imports, and the
# encoding line is kept as in the amazon.aws modules.
# ruff: noqa: E402, UP009

DOCUMENTATION = r"""
---
module: cloudwatch_metric_put
short_description: Publish custom metric datapoints to CloudWatch
version_added: 1.0.0
description:
  - Sends datapoints of custom metrics to CloudWatch with C(PutMetricData), for example the
    C(PageViews) metric the monitor playbook publishes in the namespace C(WebServer) with the
    dimension C(Deployment=<name>).
  - Neither amazon.aws nor community.aws has a module for C(PutMetricData).
  - Publishing always adds datapoints, so the module reports a change whenever it sends any.
    In check mode it validates the datapoints, reports the change and sends nothing.
  - Up to 1000 datapoints go in one call (the API's limit); more are split over several calls.
author:
  - Project team
options:
  namespace:
    description:
      - Namespace of the metrics, for example C(WebServer).
      - Namespaces starting with C(AWS/) are reserved for AWS services and refused.
    type: str
    required: true
  metric_data:
    description:
      - The datapoints to publish.
    type: list
    elements: dict
    required: true
    suboptions:
      metric_name:
        description: Name of the metric.
        type: str
        required: true
      value:
        description: Value of the datapoint.
        type: float
        required: true
      unit:
        description:
          - Unit of the value, one of CloudWatch's units (C(Unit) of a MetricDatum in the CloudWatch API
            reference), for example C(Count), C(Percent), C(Milliseconds), C(Bytes), C(Bytes/Second).
          - Another value is refused, with the list of units.
        type: str
        default: None
      dimensions:
        description:
          - Dimensions of the datapoint, name to value (at most 30).
        type: dict
        default: {}
      timestamp:
        description:
          - Time of the datapoint, ISO 8601 (for example C(2024-05-01T12:00:00Z)); now when not set.
          - CloudWatch accepts datapoints from up to two weeks ago and two hours ahead.
        type: str
      storage_resolution:
        description:
          - V(60) for a standard-resolution metric, V(1) for a high-resolution one (kept per second).
        type: int
        choices: [1, 60]
        default: 60
notes:
  - Needs C(cloudwatch:PutMetricData).
  - CloudWatch may take up to a few minutes before a new datapoint shows up in C(GetMetricData).
# The AWS connection options (region, endpoint_url, credentials), as amazon.aws's modules have them.
extends_documentation_fragment: [amazon.aws.common.modules, amazon.aws.region.modules, amazon.aws.boto3]
"""

EXAMPLES = r"""
- name: Publish the page views counted since the last publish.
  cloudwatch_metric_put:
    namespace: WebServer
    metric_data:
      - metric_name: PageViews
        value: 42
        unit: Count
        dimensions:
          Deployment: production

- name: Publish two metrics with one timestamp.
  cloudwatch_metric_put:
    region: eu-west-1
    namespace: MyApp
    metric_data:
      - metric_name: QueueDepth
        value: 7
        unit: Count
        timestamp: "2024-05-01T12:00:00Z"
      - metric_name: Latency
        value: 120.5
        unit: Milliseconds
        timestamp: "2024-05-01T12:00:00Z"
"""

RETURN = r"""
changed:
  description: V(true) when datapoints were sent (or would be, in check mode).
  returned: always
  type: bool
  sample: true
namespace:
  description: The namespace the datapoints were sent to.
  returned: success
  type: str
  sample: WebServer
metric_data:
  description: The datapoints sent, each with the timestamp used.
  returned: success
  type: list
  elements: dict
  contains:
    metric_name:
      description: Name of the metric.
      returned: always
      type: str
      sample: PageViews
    value:
      description: Value sent.
      returned: always
      type: float
      sample: 42.0
    unit:
      description: Unit sent.
      returned: always
      type: str
      sample: Count
    dimensions:
      description: Dimensions sent, name to value.
      returned: always
      type: dict
      sample: {"Deployment": "production"}
    timestamp:
      description: Time of the datapoint, ISO 8601 in UTC.
      returned: always
      type: str
      sample: "2024-05-01T12:00:00Z"
    storage_resolution:
      description: Storage resolution in seconds.
      returned: always
      type: int
      sample: 60
api_calls:
  description: Number of C(PutMetricData) calls made (0 in check mode).
  returned: success
  type: int
  sample: 1
api_calls_by_operation:
  description: The same calls by operation (C(PutMetricData)); empty in check mode.
  returned: success
  type: dict
  sample: {"PutMetricData": 1}
"""

import datetime
import math

try:  # noqa: SIM105 - the amazon.aws pattern; AnsibleAWSModule reports a missing botocore
    from botocore.exceptions import BotoCoreError, ClientError
except ImportError:
    pass  # Handled by AnsibleAWSModule

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry
from ansible_collections.aws_webserver.core.plugins.module_utils.deployment_aws import (
    ApiCallCounter,
    ModuleError,
    fail,
    unit_problem,
)
from ansible_collections.aws_webserver.core.plugins.module_utils.deployment_time import iso

# PutMetricData takes at most 1000 datapoints per call; a datapoint at most 30 dimensions.
MAX_DATAPOINTS_PER_CALL = 1000
MAX_DIMENSIONS = 30
MAX_NAME_LENGTH = 255


def parse_timestamp(text, index):
    try:
        ts = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as e:
        raise ModuleError(
            f"metric_data[{index}].timestamp: {text!r} is not an ISO 8601 time such as 2024-05-01T12:00:00Z"
        ) from e
    return ts if ts.tzinfo else ts.replace(tzinfo=datetime.UTC)


def normalise(params, now):
    """The datapoints as PutMetricData wants them, and as the module returns them."""
    namespace = params["namespace"]
    if not namespace or len(namespace) > MAX_NAME_LENGTH:
        raise ModuleError(f"namespace must be 1-{MAX_NAME_LENGTH} characters, got {namespace!r}")
    if namespace.startswith("AWS/"):
        raise ModuleError(f"namespace {namespace!r} is reserved for AWS services; choose one of your own")
    datums, returned = [], []
    for index, point in enumerate(params["metric_data"]):
        name = point["metric_name"]
        if not name or len(name) > MAX_NAME_LENGTH:
            raise ModuleError(f"metric_data[{index}].metric_name must be 1-{MAX_NAME_LENGTH} characters")
        value = float(point["value"])
        if math.isnan(value) or math.isinf(value):
            raise ModuleError(f"metric_data[{index}].value must be a finite number, got {point['value']!r}")
        dimensions = {str(k): str(v) for k, v in (point.get("dimensions") or {}).items()}
        if len(dimensions) > MAX_DIMENSIONS:
            raise ModuleError(f"metric_data[{index}].dimensions: at most {MAX_DIMENSIONS}, got {len(dimensions)}")
        empty = [k for k, v in dimensions.items() if not k or not v]
        if empty:
            raise ModuleError(f"metric_data[{index}].dimensions: names and values must not be empty ({empty})")
        timestamp = parse_timestamp(point["timestamp"], index) if point.get("timestamp") else now
        unit = point.get("unit") or "None"
        problem = unit_problem(f"metric_data[{index}].unit", unit)
        if problem:
            raise ModuleError(problem)
        datum = {
            "MetricName": name,
            "Value": value,
            "Unit": unit,
            "Timestamp": timestamp,
            "StorageResolution": point.get("storage_resolution") or 60,
        }
        if dimensions:
            datum["Dimensions"] = [{"Name": k, "Value": v} for k, v in dimensions.items()]
        datums.append(datum)
        returned.append(
            {
                "metric_name": name,
                "value": value,
                "unit": unit,
                "dimensions": dimensions,
                "timestamp": iso(timestamp),
                "storage_resolution": datum["StorageResolution"],
            }
        )
    return datums, returned


def put(cloudwatch, namespace, datums):
    for index in range(0, len(datums), MAX_DATAPOINTS_PER_CALL):
        try:
            cloudwatch.put_metric_data(
                aws_retry=True, Namespace=namespace, MetricData=datums[index : index + MAX_DATAPOINTS_PER_CALL]
            )
        except (ClientError, BotoCoreError) as e:
            raise ModuleError(f"Unable to publish metric data to namespace {namespace}", e) from e


def argument_spec():
    return {
        "namespace": {"type": "str", "required": True},
        "metric_data": {
            "type": "list",
            "elements": "dict",
            "required": True,
            "options": {
                "metric_name": {"type": "str", "required": True},
                "value": {"type": "float", "required": True},
                "unit": {"type": "str", "default": "None"},
                "dimensions": {"type": "dict", "default": {}},
                "timestamp": {"type": "str"},
                "storage_resolution": {"type": "int", "choices": [1, 60], "default": 60},
            },
        },
    }


def main():
    module = AnsibleAWSModule(argument_spec=argument_spec(), supports_check_mode=True)
    namespace = module.params["namespace"]
    counter = ApiCallCounter()
    try:
        datums, returned = normalise(module.params, datetime.datetime.now(datetime.UTC))
        if datums and not module.check_mode:
            cloudwatch = counter.attach(module.client("cloudwatch", retry_decorator=AWSRetry.jittered_backoff()))
            put(cloudwatch, namespace, datums)
    except ModuleError as e:
        fail(module, e)
    module.exit_json(
        changed=bool(datums),
        namespace=namespace,
        metric_data=returned,
        api_calls=counter.total,
        api_calls_by_operation=counter.by_operation,
    )


if __name__ == "__main__":
    main()
