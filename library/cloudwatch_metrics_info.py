#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: Contributors to the Ansible project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Ansible module layout: the documentation strings come before the imports, and the
# encoding line is kept as in the amazon.aws modules.
# ruff: noqa: E402, UP009

DOCUMENTATION = r"""
---
module: cloudwatch_metrics_info
short_description: Read recent CloudWatch metrics of EC2 instances, S3 buckets and custom metrics
version_added: 1.0.0
description:
  - Reads recent CloudWatch datapoints for EC2 instances (namespace C(AWS/EC2)), S3 buckets
    (namespace C(AWS/S3)) and any custom metric, and returns them with a per-series summary
    (data only; the monitoring role's filters turn it into notes, a table and charts).
  - All series are fetched with C(GetMetricData), packed into as few calls as the API allows
    (at most 500 queries per call, following C(NextToken) when CloudWatch splits the answer).
  - The module only reads. It runs the same way in check mode and never reports a change.
  - A series without datapoints is not an error; it is returned with RV(metrics[].status=no_data),
    and RV(instances) holds the state and launch time that explain most gaps.
  - S3 storage metrics (C(BucketSizeBytes), C(NumberOfObjects)) are published once a day, so they
    are read with a period of one day from midnight UTC at least two days before the end of the
    window, whatever O(window_minutes) and O(period) say.
author:
  - Project team
options:
  instance_ids:
    description:
      - EC2 instance IDs to report on, with the metrics in O(ec2_metrics).
    type: list
    elements: str
    default: []
  bucket_names:
    description:
      - S3 bucket names to report on, with the metrics in O(s3_metrics).
      - The buckets must be in the region the module runs against; S3 publishes their metrics there.
    type: list
    elements: str
    default: []
  ec2_metrics:
    description:
      - Names of C(AWS/EC2) metrics to read for every instance in O(instance_ids), with the
        dimension C(InstanceId).
      - Names are case-sensitive and must be known C(AWS/EC2) metrics, for example C(CPUUtilization),
        C(NetworkIn), C(NetworkOut), C(NetworkPacketsIn), C(NetworkPacketsOut), C(DiskReadBytes),
        C(DiskWriteBytes), C(DiskReadOps), C(DiskWriteOps), C(StatusCheckFailed),
        C(StatusCheckFailed_Instance), C(StatusCheckFailed_System), C(CPUCreditUsage),
        C(CPUCreditBalance), C(MetadataNoToken).
      - Use O(custom_metrics) for anything else.
    type: list
    elements: str
    default: [CPUUtilization, NetworkIn, NetworkOut, StatusCheckFailed]
  s3_metrics:
    description:
      - Names of C(AWS/S3) storage metrics to read for every bucket in O(bucket_names), C(BucketSizeBytes)
        and C(NumberOfObjects) (S3 request metrics need a request metrics configuration, which the deployment
        does not make, and are not read).
      - C(BucketSizeBytes) is read with the dimensions C(BucketName) and C(StorageType=StandardStorage),
        C(NumberOfObjects) with C(BucketName) and C(StorageType=AllStorageTypes), both with a period of
        one day.
    type: list
    elements: str
    default: [BucketSizeBytes, NumberOfObjects]
  custom_metrics:
    description:
      - Further metrics, each read for exactly the dimensions given.
      - For example the C(PageViews) metric the deployment publishes in the namespace C(WebServer)
        with the dimension C(Deployment=<name>).
    type: list
    elements: dict
    default: []
    suboptions:
      namespace:
        description:
          - Namespace of the metric.
        type: str
        required: true
      name:
        description:
          - Name of the metric.
        type: str
        required: true
      dimensions:
        description:
          - Dimensions of the metric, name to value. CloudWatch matches the full set exactly.
        type: dict
        default: {}
      stat:
        description:
          - Statistic for this metric only, instead of the ones in O(statistics).
        type: str
        choices: [Average, Minimum, Maximum, Sum, SampleCount]
      unit:
        description:
          - Unit the metric is published with, one of CloudWatch's units (C(Unit) of a MetricDatum in the
            CloudWatch API reference), for example C(Count) or C(Milliseconds). When set, only datapoints
            published with this unit are read, and the unit is shown in the report.
        type: str
  window_minutes:
    description:
      - Length of the report window in minutes, ending now.
      - The start is rounded down to a multiple of O(period).
      - At most 655200 (455 days), the oldest data CloudWatch keeps; a longer window is refused before any call.
    type: int
    default: 60
  period:
    description:
      - Length in seconds of the period each datapoint aggregates.
      - Must be a positive multiple of 60. EC2 basic monitoring publishes every 300 seconds, so a
        shorter period only helps for instances with detailed monitoring.
      - Raised, with a notice in RV(window.notice), to what CloudWatch keeps for the start of the window
        (one-minute data for 15 days, five-minute for 63, hourly for 455) and to what keeps one
        C(GetMetricData) call within its 100,800 datapoints.
    type: int
    default: 300
  statistics:
    description:
      - Statistics to read for every metric. Each statistic gives its own series.
    type: list
    elements: str
    choices: [Average, Minimum, Maximum, Sum, SampleCount]
    default: [Average, Minimum, Maximum]
  validate_resources:
    description:
      - Check before reading metrics that every instance in O(instance_ids) exists in the region
        (C(ec2:DescribeInstances)) and every bucket in O(bucket_names) exists (C(s3:HeadBucket)),
        and fail naming the ones that do not.
      - When V(false), unknown resources simply report no data.
    type: bool
    default: true
notes:
  - Needs C(cloudwatch:GetMetricData), and with O(validate_resources=true) also C(ec2:DescribeInstances)
    and C(s3:ListBucket) on the buckets (for C(HeadBucket)).
  - CloudWatch bills C(GetMetricData) per metric read, not per call.
# The AWS connection options (region, endpoint_url, credentials), as amazon.aws's modules have them.
extends_documentation_fragment: [amazon.aws.common.modules, amazon.aws.region.modules, amazon.aws.boto3]
"""

EXAMPLES = r"""
- name: Report the last hour of the web servers' EC2 metrics and the image bucket.
  cloudwatch_metrics_info:
    region: us-east-1
    instance_ids: "{{ groups['webservers'] | map('extract', hostvars, 'instance_id') | list }}"
    bucket_names:
      - example-webserver-images
  register: _cloudwatch_metrics

- name: Show the average CPU of each instance.
  ansible.builtin.debug:
    msg: "{{ _cloudwatch_metrics.metrics | selectattr('metric', 'eq', 'CPUUtilization') | map(attribute='summary') }}"

- name: Report page views of the deployment for the last day, hour by hour.
  cloudwatch_metrics_info:
    region: us-east-1
    window_minutes: 1440
    period: 3600
    custom_metrics:
      - namespace: WebServer
        name: PageViews
        dimensions:
          Deployment: production
        stat: Sum
        unit: Count

- name: Report CPU credits of burstable instances every minute, without looking the instances up.
  cloudwatch_metrics_info:
    region: eu-west-1
    instance_ids:
      - i-0123456789abcdef0
    ec2_metrics: [CPUUtilization, CPUCreditUsage, CPUCreditBalance]
    statistics: [Average, Maximum]
    period: 60
    window_minutes: 30
    validate_resources: false
"""

RETURN = r"""
changed:
  description: Always V(false); the module only reads.
  returned: always
  type: bool
  sample: false
metrics:
  description: One entry per resource, metric and statistic, in the order of the options.
  returned: success
  type: list
  elements: dict
  contains:
    namespace:
      description: CloudWatch namespace of the metric.
      returned: always
      type: str
      sample: AWS/EC2
    metric:
      description: Name of the metric.
      returned: always
      type: str
      sample: CPUUtilization
    dimensions:
      description: Dimensions the metric was read with, name to value.
      returned: always
      type: dict
      sample: {"InstanceId": "i-0123456789abcdef0"}
    resource:
      description:
        - What the series is about; the instance ID, the bucket name or, for custom metrics,
          the dimension values joined with C(/) (the namespace when there are no dimensions).
      returned: always
      type: str
      sample: i-0123456789abcdef0
    statistic:
      description: Statistic of the series.
      returned: always
      type: str
      sample: Average
    unit:
      description:
        - Unit of the values, from the table of known AWS metrics or the O(custom_metrics[].unit) given.
        - V(null) for custom metrics without a unit.
      returned: always
      type: str
      sample: Percent
    period:
      description: Period of the datapoints in seconds (86400 for S3 storage metrics).
      returned: always
      type: int
      sample: 300
    datapoints:
      description: The datapoints, oldest first.
      returned: always
      type: list
      elements: dict
      contains:
        timestamp:
          description: Start of the period, ISO 8601 in UTC.
          returned: always
          type: str
          sample: "2024-05-01T12:05:00Z"
        value:
          description: Value of the statistic in that period.
          returned: always
          type: float
          sample: 12.5
    summary:
      description: Summary of the datapoints. All values but RV(metrics[].summary.count) are V(null) without data.
      returned: always
      type: dict
      contains:
        count:
          description: Number of datapoints.
          returned: always
          type: int
          sample: 12
        min:
          description: Smallest value.
          returned: always
          type: float
          sample: 1.5
        average:
          description: Mean of the values.
          returned: always
          type: float
          sample: 7.25
        max:
          description: Largest value.
          returned: always
          type: float
          sample: 20.0
        latest:
          description: Value of the most recent datapoint.
          returned: always
          type: float
          sample: 3.0
        latest_timestamp:
          description: Timestamp of the most recent datapoint, ISO 8601 in UTC.
          returned: always
          type: str
          sample: "2024-05-01T12:55:00Z"
    status:
      description: V(ok) when there are datapoints, V(no_data) when there are none.
      returned: always
      type: str
      sample: ok
    kind:
      description:
        - What the series is about, V(ec2), V(s3_storage) (daily S3 storage metrics) or V(custom).
      returned: always
      type: str
      sample: ec2
    query_status:
      description: CloudWatch's status of the query when it was not C(Complete) (V(PartialData), V(Forbidden), ...).
      returned: when CloudWatch did not complete the query
      type: str
      sample: PartialData
instances:
  description:
    - The instances of O(instance_ids), by ID, with what explains an EC2 series without data.
    - Empty when O(validate_resources=false).
  returned: success
  type: dict
  sample: {"i-0123456789abcdef0": {"state": "running", "launch_time": "2024-05-01T12:58:00Z"}}
window:
  description: Time window of the datapoints.
  returned: success
  type: dict
  contains:
    start:
      description: Start of the window, ISO 8601 in UTC, rounded down to a multiple of the period.
      returned: always
      type: str
      sample: "2024-05-01T12:00:00Z"
    end:
      description: End of the window, ISO 8601 in UTC.
      returned: always
      type: str
      sample: "2024-05-01T13:01:00Z"
    period:
      description: Period of the datapoints in seconds.
      returned: always
      type: int
      sample: 300
    minutes:
      description: Length of the window asked for, in minutes.
      returned: always
      type: int
      sample: 60
    notice:
      description: Why the period is longer than O(period) asked, else empty.
      returned: always
      type: str
      sample: "period 300 s, not 60 s: CloudWatch keeps 5-minute data for that long (30 days back)"
    daily_start:
      description: Start of the longer window used for the daily S3 storage metrics, midnight UTC.
      returned: when S3 storage metrics are read
      type: str
      sample: "2024-04-29T00:00:00Z"
api_calls:
  description: Number of AWS API calls the module made, validation calls included.
  returned: success
  type: int
  sample: 2
api_calls_by_operation:
  description: The same count per API operation.
  returned: success
  type: dict
  sample: {"DescribeInstances": 1, "GetMetricData": 1}
"""

import datetime
import difflib
import re

try:  # noqa: SIM105 - the amazon.aws pattern; AnsibleAWSModule reports a missing botocore
    from botocore.exceptions import BotoCoreError, ClientError
except ImportError:
    pass  # Handled by AnsibleAWSModule

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.aws_webserver.core.plugins.module_utils.deployment_aws import (
    Clients,
    ModuleError,
    fail,
    unit_problem,
)
from ansible_collections.aws_webserver.core.plugins.module_utils.deployment_time import iso

STATISTICS = ["Average", "Minimum", "Maximum", "Sum", "SampleCount"]


# Known AWS/EC2 metrics (dimension InstanceId) and their units.
EC2_METRIC_UNITS = {
    "CPUUtilization": "Percent",
    "NetworkIn": "Bytes",
    "NetworkOut": "Bytes",
    "NetworkPacketsIn": "Count",
    "NetworkPacketsOut": "Count",
    "DiskReadBytes": "Bytes",
    "DiskWriteBytes": "Bytes",
    "DiskReadOps": "Count",
    "DiskWriteOps": "Count",
    "StatusCheckFailed": "Count",
    "StatusCheckFailed_Instance": "Count",
    "StatusCheckFailed_System": "Count",
    "StatusCheckFailed_AttachedEBS": "Count",
    "CPUCreditUsage": "Count",
    "CPUCreditBalance": "Count",
    "CPUSurplusCreditBalance": "Count",
    "CPUSurplusCreditsCharged": "Count",
    "MetadataNoToken": "Count",
    "MetadataNoTokenRejected": "Count",
    "EBSReadOps": "Count",
    "EBSWriteOps": "Count",
    "EBSReadBytes": "Bytes",
    "EBSWriteBytes": "Bytes",
    "EBSIOBalance%": "Percent",
    "EBSByteBalance%": "Percent",
}

# Daily AWS/S3 storage metrics: unit and the StorageType dimension they are read with.
S3_STORAGE_METRICS = {
    "BucketSizeBytes": ("Bytes", "StandardStorage"),
    "NumberOfObjects": ("Count", "AllStorageTypes"),
}

S3_METRIC_UNITS = {metric: unit for metric, (unit, _storage) in S3_STORAGE_METRICS.items()}

# GetMetricData takes at most 500 queries per call.
MAX_QUERIES_PER_CALL = 500
DAILY_PERIOD = 86400
# The daily S3 storage metrics are read over at least this many days before today.
DAILY_LOOKBACK_DAYS = 2
INSTANCE_ID_RE = re.compile(r"^i-(?:[0-9a-f]{8}|[0-9a-f]{17})$")
DESCRIBE_INSTANCES_CHUNK = 200
EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)


def unique(items):
    """The items without duplicates, in the order they first appear."""
    return list(dict.fromkeys(items))


def chunks(items, size):
    for index in range(0, len(items), size):
        yield items[index : index + size]


def plural(word, items):
    return word if len(items) == 1 else f"{word}s"


def compute_window(now, window_minutes, period, with_daily):
    """The report window: end rounded up to the minute, start rounded down to the period."""
    end_seconds = int((now - EPOCH).total_seconds())
    end_seconds = -(-end_seconds // 60) * 60
    start_seconds = end_seconds - window_minutes * 60
    start_seconds -= start_seconds % period
    window = {
        "start": EPOCH + datetime.timedelta(seconds=start_seconds),
        "end": EPOCH + datetime.timedelta(seconds=end_seconds),
        "period": period,
        "minutes": window_minutes,
    }
    if with_daily:
        today = end_seconds - end_seconds % DAILY_PERIOD
        daily_start = min(today - DAILY_LOOKBACK_DAYS * DAILY_PERIOD, start_seconds - start_seconds % DAILY_PERIOD)
        window["daily_start"] = EPOCH + datetime.timedelta(seconds=daily_start)
    return window


def check_metric_names(option, namespace, names, known):
    unknown = [name for name in names if name not in known]
    if not unknown:
        return
    hints = []
    for name in unknown:
        close = difflib.get_close_matches(name, list(known), n=1)
        hints.append(f"'{name}' (did you mean '{close[0]}'?)" if close else f"'{name}'")
    raise ModuleError(
        f"{option}: unknown {namespace} metric {plural('name', unknown)} {', '.join(hints)}; names are"
        f" case-sensitive and must be among: {', '.join(sorted(known))}. Use custom_metrics for other metrics."
    )


# What CloudWatch keeps (its metric retention): the period of the data still there, by age in days.
RETENTION = ((15, 60), (63, 300), (455, 3600))
MAX_DATAPOINTS_PER_CALL = 100_800


def fitted_period(window_minutes, period, queries):
    """(period, notice): the period asked for, or the shortest longer one CloudWatch still keeps for
    a window reaching window_minutes back and that keeps `queries` queries in one call within its
    datapoint limit; the notice says why. Raises ModuleError when CloudWatch keeps nothing that old."""
    days = window_minutes / 1440
    kept = next((seconds for limit, seconds in RETENTION if days <= limit), None)
    if kept is None:
        raise ModuleError(
            f"window_minutes={window_minutes} reaches {days:.0f} days back, and CloudWatch keeps metrics for 455 days "
            f"(hourly): give at most {RETENTION[-1][0] * 1440} minutes"
        )
    points = -(-max(queries, 1) * window_minutes * 60 // MAX_DATAPOINTS_PER_CALL)
    fitted = max(period, kept, -(-points // 60) * 60)
    if fitted == period:
        return period, ""
    if fitted == kept and kept > period:
        why = f"CloudWatch keeps {kept // 60}-minute data for that long ({days:.0f} days back)"
    else:
        why = f"{queries} series over {window_minutes} minutes stay within {MAX_DATAPOINTS_PER_CALL} datapoints a call"
    return fitted, f"period {fitted} s, not {period} s: {why}"


def validate_params(params):
    """Checks what the argument spec cannot; raises ModuleError naming the option."""
    period = params["period"]
    if period < 60 or period % 60:
        raise ModuleError(f"period must be a positive multiple of 60 seconds (60, 120, 300, 3600 ...), got {period}")
    if params["window_minutes"] < 1:
        raise ModuleError(f"window_minutes must be at least 1, got {params['window_minutes']}")
    if not params["statistics"]:
        raise ModuleError(f"statistics must name at least one of {', '.join(STATISTICS)}, got none")
    check_metric_names("ec2_metrics", "AWS/EC2", params["ec2_metrics"], EC2_METRIC_UNITS)
    check_metric_names("s3_metrics", "AWS/S3", params["s3_metrics"], S3_METRIC_UNITS)

    malformed = [i for i in params["instance_ids"] if not INSTANCE_ID_RE.match(i)]
    if malformed:
        raise ModuleError(
            f"instance_ids: {', '.join(repr(i) for i in malformed)} is not a valid EC2 instance ID;"
            " an ID is 'i-' and 8 or 17 lowercase hex digits, like i-0123456789abcdef0"
        )
    if any(not bucket for bucket in params["bucket_names"]):
        raise ModuleError("bucket_names must not contain an empty name")
    for index, custom in enumerate(params["custom_metrics"]):
        for key in ("namespace", "name"):
            if not custom[key]:
                raise ModuleError(f"custom_metrics[{index}].{key} must not be empty")
        problem = unit_problem(f"custom_metrics[{index}].unit", custom.get("unit"))
        if problem:
            raise ModuleError(problem)

    if not (params["instance_ids"] or params["bucket_names"] or params["custom_metrics"]):
        raise ModuleError(
            "Nothing to report: instance_ids, bucket_names and custom_metrics are all empty;"
            " give at least one instance ID, bucket name or custom metric"
        )
    if params["instance_ids"] and not params["ec2_metrics"]:
        raise ModuleError("instance_ids is set but ec2_metrics is empty; name at least one AWS/EC2 metric")
    if params["bucket_names"] and not params["s3_metrics"]:
        raise ModuleError("bucket_names is set but s3_metrics is empty; name at least one AWS/S3 metric")


def not_found_message(instance_ids, region):
    return (
        f"{plural('instance', instance_ids)} {', '.join(instance_ids)} not found in region {region}"
        " (instance_ids; check the ID and the region, or set validate_resources=false)"
    )


def find_missing_instances(ec2, instance_ids):
    """Which of the IDs do not exist; a filter, unlike InstanceIds, does not fail on unknown IDs."""
    try:
        response = ec2.describe_instances(aws_retry=True, Filters=[{"Name": "instance-id", "Values": instance_ids}])
    except (ClientError, BotoCoreError) as e:
        raise ModuleError("Unable to describe the EC2 instances", e) from e
    found = {
        instance["InstanceId"]
        for reservation in response.get("Reservations", [])
        for instance in reservation.get("Instances", [])
    }
    return [i for i in instance_ids if i not in found]


def describe_instances(ec2, instance_ids, region):
    """Returns {instance_id: instance}; fails naming the IDs that do not exist in the region."""
    found = {}
    for chunk in chunks(instance_ids, DESCRIBE_INSTANCES_CHUNK):
        try:
            response = ec2.describe_instances(aws_retry=True, InstanceIds=chunk)
        except is_boto3_error_code("InvalidInstanceID.NotFound") as e:
            missing = find_missing_instances(ec2, chunk) or chunk
            raise ModuleError(not_found_message(missing, region)) from e
        except is_boto3_error_code("InvalidInstanceID.Malformed") as e:
            raise ModuleError(f"instance_ids: malformed instance ID among {', '.join(chunk)}", e) from e
        except (ClientError, BotoCoreError) as e:  # pylint: disable=duplicate-except
            raise ModuleError("Unable to describe the EC2 instances", e) from e
        for reservation in response.get("Reservations", []):
            for instance in reservation.get("Instances", []):
                found[instance["InstanceId"]] = instance
    missing = [i for i in instance_ids if i not in found]
    if missing:
        raise ModuleError(not_found_message(missing, region))
    return found


def check_buckets(s3, bucket_names, region, module):
    """Fails naming a bucket that does not exist or lives in another region."""
    for bucket in bucket_names:
        try:
            response = s3.head_bucket(aws_retry=True, Bucket=bucket)
        except is_boto3_error_code(["404", "NoSuchBucket", "NotFound"]) as e:
            raise ModuleError(
                f"bucket {bucket} not found (bucket_names; check the name, or set validate_resources=false)"
            ) from e
        except is_boto3_error_code(["403", "AccessDenied", "Forbidden"]):  # pylint: disable=duplicate-except
            module.warn(
                f"Access to bucket {bucket} is denied (HeadBucket 403): it exists but may belong to another"
                " account, whose metrics are not in this account's CloudWatch"
            )
            continue
        except (ClientError, BotoCoreError) as e:  # pylint: disable=duplicate-except
            raise ModuleError(f"Unable to check bucket {bucket}", e) from e
        headers = response.get("ResponseMetadata", {}).get("HTTPHeaders", {})
        bucket_region = response.get("BucketRegion") or headers.get("x-amz-bucket-region")
        if bucket_region and region and bucket_region != region:
            raise ModuleError(
                f"bucket {bucket} is in region {bucket_region}; S3 publishes its metrics there, not in"
                f" {region}: run the report against region {bucket_region}"
            )


def build_series(params):
    """One entry per (resource, metric, statistic), in the order of the options."""
    statistics = unique(params["statistics"])
    series = []

    def add(namespace, metric, dimensions, resource, kind, unit, stats, unit_filter=None, daily=False):
        for stat in stats:
            series.append(
                {
                    "namespace": namespace,
                    "metric": metric,
                    "dimensions": dimensions,
                    "resource": resource,
                    "kind": kind,
                    "statistic": stat,
                    "unit": unit,
                    "unit_filter": unit_filter,
                    "daily": daily,
                }
            )

    for instance_id in unique(params["instance_ids"]):
        for metric in unique(params["ec2_metrics"]):
            dimensions = {"InstanceId": instance_id}
            add("AWS/EC2", metric, dimensions, instance_id, "ec2", EC2_METRIC_UNITS[metric], statistics)
    for bucket in unique(params["bucket_names"]):
        for metric in unique(params["s3_metrics"]):
            unit, storage_type = S3_STORAGE_METRICS[metric]
            # CloudWatch ignores the order of dimensions; moto matches them in order and
            # publishes StorageType first.
            dimensions = {"StorageType": storage_type, "BucketName": bucket}
            add("AWS/S3", metric, dimensions, bucket, "s3_storage", unit, statistics, daily=True)
    for custom in params["custom_metrics"]:
        dimensions = {str(k): str(v) for k, v in (custom.get("dimensions") or {}).items()}
        resource = "/".join(dimensions.values()) or custom["namespace"]
        stats = [custom["stat"]] if custom.get("stat") else statistics
        unit = custom.get("unit")
        add(custom["namespace"], custom["name"], dimensions, resource, "custom", unit, stats, unit_filter=unit)
    for index, entry in enumerate(series):
        entry["id"] = f"m{index}"
    return series


def metric_query(entry, period):
    metric_stat = {
        "Metric": {
            "Namespace": entry["namespace"],
            "MetricName": entry["metric"],
            "Dimensions": [{"Name": name, "Value": value} for name, value in entry["dimensions"].items()],
        },
        "Period": period,
        "Stat": entry["statistic"],
    }
    if entry["unit_filter"]:
        metric_stat["Unit"] = entry["unit_filter"]
    return {"Id": entry["id"], "MetricStat": metric_stat, "ReturnData": True}


def get_metric_data(cloudwatch, queries, start, end):
    """One GetMetricData request, following NextToken; the pages are merged by query Id."""
    results = {}
    messages = []
    request = {
        "MetricDataQueries": queries,
        "StartTime": start,
        "EndTime": end,
        "ScanBy": "TimestampAscending",
    }
    while True:
        try:
            response = cloudwatch.get_metric_data(aws_retry=True, **request)
        except (ClientError, BotoCoreError) as e:
            raise ModuleError("Unable to get metric data from CloudWatch", e) from e
        for result in response.get("MetricDataResults", []):
            merged = results.setdefault(result["Id"], {"points": {}, "status_code": None})
            timestamps = result.get("Timestamps", [])
            values = result.get("Values", [])
            merged["points"].update(zip(timestamps, values, strict=False))
            merged["status_code"] = result.get("StatusCode")
            messages.extend(f"{result['Id']}: {m.get('Value', '')}" for m in result.get("Messages", []))
        messages.extend(m.get("Value", "") for m in response.get("Messages", []))
        token = response.get("NextToken")
        if not token:
            return results, messages
        request["NextToken"] = token


def fetch_all(cloudwatch, series, window):
    """Fetches every series with as few GetMetricData calls as the API allows.

    A call holds at most 500 queries and one time range, so the daily S3 storage
    metrics, read over a longer range, go into calls of their own.
    """
    groups = [
        ([s for s in series if not s["daily"]], window["period"], window["start"]),
        ([s for s in series if s["daily"]], DAILY_PERIOD, window.get("daily_start")),
    ]
    results = {}
    messages = []
    for group, period, start in groups:
        for chunk in chunks(group, MAX_QUERIES_PER_CALL):
            queries = [metric_query(entry, period) for entry in chunk]
            chunk_results, chunk_messages = get_metric_data(cloudwatch, queries, start, window["end"])
            results.update(chunk_results)
            messages.extend(chunk_messages)
    return results, messages


def summarize(points):
    if not points:
        return {"count": 0, "min": None, "average": None, "max": None, "latest": None, "latest_timestamp": None}
    values = [p["value"] for p in points]
    return {
        "count": len(values),
        "min": min(values),
        "average": sum(values) / len(values),
        "max": max(values),
        "latest": points[-1]["value"],
        "latest_timestamp": points[-1]["timestamp"],
    }


def read_metrics(params, clients, region, module, now=None):
    """The datapoints and what explains them; clients("ec2") gives a service's client (Clients)."""
    validate_params(params)
    series = build_series(params)
    # Before any call: a window CloudWatch keeps nothing of is refused at once.
    queries = min(len([s for s in series if not s["daily"]]), MAX_QUERIES_PER_CALL)
    period, notice = fitted_period(params["window_minutes"], params["period"], queries)

    instances = {}
    if params["validate_resources"]:
        if params["instance_ids"]:
            instances = describe_instances(clients("ec2"), unique(params["instance_ids"]), region)
        if params["bucket_names"]:
            check_buckets(clients("s3"), unique(params["bucket_names"]), region, module)

    now = now or datetime.datetime.now(datetime.UTC)
    window = compute_window(now, params["window_minutes"], period, any(s["daily"] for s in series))
    results, messages = fetch_all(clients("cloudwatch"), series, window)
    for message in unique(m for m in messages if m):
        module.warn(f"CloudWatch: {message}")

    metrics = []
    for entry in series:
        result = results.get(entry["id"], {"points": {}, "status_code": None})
        points = [{"timestamp": iso(ts), "value": float(value)} for ts, value in sorted(result["points"].items())]
        metric = {
            "namespace": entry["namespace"],
            "metric": entry["metric"],
            "dimensions": entry["dimensions"],
            "resource": entry["resource"],
            "statistic": entry["statistic"],
            "unit": entry["unit"],
            "period": DAILY_PERIOD if entry["daily"] else window["period"],
            "datapoints": points,
            "summary": summarize(points),
            "status": "ok" if points else "no_data",
            "kind": entry["kind"],
        }
        if result["status_code"] not in (None, "Complete"):
            metric["query_status"] = result["status_code"]
        metrics.append(metric)

    report_window = {
        "start": iso(window["start"]),
        "end": iso(window["end"]),
        "period": window["period"],
        "minutes": window["minutes"],
        "notice": notice,
    }
    if "daily_start" in window:
        report_window["daily_start"] = iso(window["daily_start"])
    described = {
        instance_id: {"state": instance.get("State", {}).get("Name"), "launch_time": iso(instance["LaunchTime"])}
        for instance_id, instance in instances.items()
        if isinstance(instance.get("LaunchTime"), datetime.datetime)
    }
    return {"metrics": metrics, "instances": described, "window": report_window}


def argument_spec():
    return {
        "instance_ids": {"type": "list", "elements": "str", "default": []},
        "bucket_names": {"type": "list", "elements": "str", "default": []},
        "ec2_metrics": {
            "type": "list",
            "elements": "str",
            "default": ["CPUUtilization", "NetworkIn", "NetworkOut", "StatusCheckFailed"],
        },
        "s3_metrics": {"type": "list", "elements": "str", "default": ["BucketSizeBytes", "NumberOfObjects"]},
        "custom_metrics": {
            "type": "list",
            "elements": "dict",
            "default": [],
            "options": {
                "namespace": {"type": "str", "required": True},
                "name": {"type": "str", "required": True},
                "dimensions": {"type": "dict", "default": {}},
                "stat": {"type": "str", "choices": STATISTICS},
                "unit": {"type": "str"},
            },
        },
        "window_minutes": {"type": "int", "default": 60},
        "period": {"type": "int", "default": 300},
        "statistics": {
            "type": "list",
            "elements": "str",
            "choices": STATISTICS,
            "default": ["Average", "Minimum", "Maximum"],
        },
        "validate_resources": {"type": "bool", "default": True},
    }


def main():
    module = AnsibleAWSModule(argument_spec=argument_spec(), supports_check_mode=True)

    # Only the services asked for are made, all from one boto3 session.
    clients = Clients(module)
    counter = clients.counter

    try:
        report = read_metrics(module.params, clients, module.region, module)
    except ModuleError as e:
        fail(module, e)
    except (ClientError, BotoCoreError) as e:
        module.fail_json_aws(e, msg="Unable to read the CloudWatch metrics")

    module.exit_json(changed=False, api_calls=counter.total, api_calls_by_operation=counter.by_operation, **report)


if __name__ == "__main__":
    main()
