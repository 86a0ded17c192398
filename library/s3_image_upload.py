#!/usr/bin/python
# -*- coding: utf-8 -*-  # noqa: UP009

# Copyright: Contributors to this project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# Ansible modules put DOCUMENTATION, EXAMPLES and RETURN before the imports.
# ruff: noqa: E402

DOCUMENTATION = r"""
module: s3_image_upload
short_description: Download an image from an HTTP(S) URL and store it as an S3 object
description:
  - Downloads an image from O(url) (or takes the one already fetched into O(src)) and uploads it to
    O(bucket) under O(key).
  - The download is streamed to a temporary file on the managed host while its SHA-256 and size are
    computed. It stops as soon as it exceeds O(max_size), or before reading anything when the server
    announces a larger C(Content-Length).
  - The image type is detected from the first bytes of the content (JPEG, PNG, GIF, WebP and BMP are
    recognised). The C(Content-Type) header sent by the server is not trusted; content that is not one of
    these images is refused. The object is stored with the C(Content-Type) of the detected type.
  - Redirects are followed (at most 10), but only to C(http) and C(https) URLs.
  - Only a whole image is stored. The download fails when the server closes the connection before the
    C(Content-Length) it announced, or, with or without a length, when the content lacks its format's end
    (the JPEG end-of-image marker, the PNG C(IEND) chunk, the GIF trailer, the size WebP and BMP declare).
    An object already under O(key) then stays as it is.
  - The SHA-256 of the content is stored in the object's user metadata (C(sha256)), with the source URL
    (C(source-url)). The object is only uploaded when no object exists under O(key), or when its stored
    SHA-256 or its C(Content-Type) differ from the downloaded image, so repeated runs are idempotent.
  - The object is uploaded with a single C(PutObject) call, so a failed run never leaves a partial object.
  - The image is downloaded in check mode too (it is needed to decide whether anything would change), but
    nothing is written to S3.
author:
  - "Project infrastructure maintainers"
options:
  bucket:
    description:
      - Name of the existing S3 bucket to store the image in.
      - It must keep the project's bucket-name rules (S3's, and no dots, which break the bucket's HTTPS
        address), the same the deployment role checks deployment_bucket_name against.
      - The module fails when the bucket does not exist; it does not create buckets. In check mode a
        missing bucket is not an error (an earlier task may create it); the image would be uploaded.
    required: true
    type: str
  bucket_region:
    description:
      - The bucket's region, when the caller knows it (deploy has just created or found the bucket).
        The module then takes the bucket as existing and does not ask S3 for its region (one
        C(HeadBucket) call fewer); a missing bucket then fails at the upload.
      - Empty, the module asks C(HeadBucket), which says whether the bucket exists and where.
      - The region is used for the object's URL (RV(url)).
    type: str
    default: ""
  key:
    description:
      - Key of the object inside O(bucket), without a leading C(/).
    default: image.jpg
    type: str
  url:
    description:
      - C(http) or C(https) URL of the image to download.
      - A URL with non-ASCII characters (an IRI) is sent as browsers send it, the host in IDNA and the
        path and query percent-encoded as UTF-8.
      - With O(src), the image is not downloaded again; O(url) is only recorded as its source.
    required: true
    type: str
  src:
    description:
      - Path of the image already fetched from O(url) and checked (on the host the module runs on), for
        example by C(aws_webserver.core.deployment_info) before a deployment creates anything.
      - It is checked again as a download is (a whole JPEG, PNG, GIF, WebP or BMP of at most O(max_size)
        bytes), and those bytes are what is uploaded, so an origin whose content changes meanwhile cannot
        swap them.
    type: path
  timeout:
    description:
      - Seconds the whole download may take, from connecting to the last byte; also the limit for
        connecting and for each read. A server that sends a few bytes at a time cannot hold the run longer.
    default: 30
    type: int
  max_size:
    description:
      - Largest image accepted, in bytes. Larger downloads are aborted and the module fails.
    default: 10485760
    type: int
  tags:
    description:
      - Tags to set on the object, as a dictionary of key and value pairs.
      - When set, the object's tags are made exactly these; an object whose content is unchanged only
        has its tags updated.
      - When not set, the tags already on the object are kept, also when the object is replaced.
    type: dict
  validate_certs:
    description:
      - When V(false), TLS certificates are validated neither for the download from O(url) nor for the
        communication with the AWS APIs.
      - Setting O(validate_certs=false) is strongly discouraged; consider O(aws_ca_bundle) for the AWS APIs instead.
    type: bool
    default: true
notes:
  - Supports C(check_mode) and C(diff_mode). The diff shows the SHA-256, size and content type of the
    object before and after the task.
  - The returned RV(url) is the object's URL; it is only readable anonymously if the bucket policy allows it.
# The AWS connection options (region, endpoint_url, credentials), as amazon.aws's modules have them.
extends_documentation_fragment: [amazon.aws.common.modules, amazon.aws.region.modules, amazon.aws.boto3]
"""

EXAMPLES = r"""
- name: Ensure the header image is stored in the site bucket.
  s3_image_upload:
    bucket: example-site-assets
    key: images/header.jpg
    url: https://images.example.com/header.jpg
    region: eu-west-1

- name: Ensure the logo is stored, tagged, and accept at most 2 MiB.
  s3_image_upload:
    bucket: example-site-assets
    key: images/logo.png
    url: https://images.example.com/logo.png
    max_size: 2097152
    timeout: 10
    tags:
      project: website
  register: _logo

- name: Show where the logo is served from.
  ansible.builtin.debug:
    msg: "{{ _logo.url }} ({{ _logo.content_type }}, {{ _logo.size }} bytes)"

- name: Ensure the image is stored in an S3-compatible service.
  s3_image_upload:
    bucket: test-bucket
    url: http://origin.internal/image.jpg
    endpoint_url: http://127.0.0.1:5000
    region: us-east-1
"""

RETURN = r"""
url:
  description:
    - URL of the object.
    - Path-style (C(<endpoint_url>/<bucket>/<key>)) when O(endpoint_url) is set, otherwise the
      virtual-hosted regional form C(https://<bucket>.s3.<region>.amazonaws.com/<key>).
  returned: always
  type: str
  sample: https://example-site-assets.s3.eu-west-1.amazonaws.com/images/header.jpg
bucket:
  description: Name of the bucket.
  returned: always
  type: str
  sample: example-site-assets
key:
  description: Key of the object.
  returned: always
  type: str
  sample: images/header.jpg
content_type:
  description: Content type detected from the image's first bytes, and stored on the object.
  returned: always
  type: str
  sample: image/jpeg
size:
  description: Size of the image in bytes.
  returned: always
  type: int
  sample: 48213
sha256:
  description: SHA-256 of the image, as lower-case hexadecimal.
  returned: always
  type: str
  sample: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
source_url:
  description: The URL the image was downloaded from (O(url)).
  returned: always
  type: str
  sample: https://images.example.com/header.jpg
etag:
  description:
    - ETag of the object, without the surrounding quotes.
    - Not returned in check mode when the object would be uploaded.
  returned: when the object exists after the task
  type: str
  sample: 5d41402abc4b2a76b9719d911017c592
tags:
  description: Tags of the object.
  returned: when O(tags) is set
  type: dict
  sample: {"project": "website"}
api_calls_by_operation:
  description: The S3 API calls the task made, by operation.
  returned: success
  type: dict
  sample: {HeadObject: 1, GetObjectTagging: 1}
"""

import contextlib
import os
import tempfile
from urllib.parse import quote, urlencode

with contextlib.suppress(ImportError):  # a missing botocore is reported by AnsibleAWSModule
    from botocore.exceptions import BotoCoreError, ClientError

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry
from ansible_collections.amazon.aws.plugins.module_utils.tagging import (
    ansible_dict_to_boto3_tag_list,
    boto3_tag_list_to_ansible_dict,
)
from ansible_collections.aws_webserver.core.plugins.module_utils.deployment_aws import ApiCallCounter, ModuleError, fail
from ansible_collections.aws_webserver.core.plugins.module_utils.deployment_image import (  # noqa: F401 - incomplete, detect_image_type: the unit tests read them here
    ImageFetchError,
    check_scheme,
    detect_image_type,
    download,
    image_of_file,
    incomplete,
    iri_to_uri,
)
from ansible_collections.aws_webserver.core.plugins.module_utils.deployment_rules import bucket_name_problem

ABSENT_CODES = ("404", "NoSuchKey", "NotFound", "403", "AccessDenied", "Forbidden")
NO_BUCKET_CODES = ("404", "NoSuchBucket", "NotFound")


def object_url(endpoint_url, bucket, key, region):
    quoted_key = quote(key, safe="/~")
    if endpoint_url:
        return f"{endpoint_url.rstrip('/')}/{bucket}/{quoted_key}"
    return f"https://{bucket}.s3.{region}.amazonaws.com/{quoted_key}"


def bucket_region(module, client, bucket):
    """Return (exists, region). A missing bucket fails, except in check mode."""
    try:
        response = client.head_bucket(Bucket=bucket, aws_retry=True)
    except is_boto3_error_code(NO_BUCKET_CODES):
        if module.check_mode:
            return False, None
        raise ModuleError(f"bucket {bucket} does not exist") from None
    except is_boto3_error_code(("403", "AccessDenied", "Forbidden")):
        # s3:ListBucket may be missing while object access is allowed; PutObject will tell.
        return True, None
    except (ClientError, BotoCoreError) as e:  # pylint: disable=duplicate-except
        raise ModuleError(f"Unable to check bucket {bucket}", e) from e
    return True, response.get("BucketRegion")


def current_object(module, client, bucket, key):
    """Return the object's head_object response, or None when absent."""
    try:
        return client.head_object(Bucket=bucket, Key=key, aws_retry=True)
    except is_boto3_error_code(ABSENT_CODES):
        return None
    except (ClientError, BotoCoreError) as e:  # pylint: disable=duplicate-except
        raise ModuleError(f"Unable to read object {key} in bucket {bucket}", e) from e


def current_tags(module, client, bucket, key):
    try:
        response = client.get_object_tagging(Bucket=bucket, Key=key, aws_retry=True)
    except (ClientError, BotoCoreError) as e:
        raise ModuleError(f"Unable to read the tags of object {key} in bucket {bucket}", e) from e
    return boto3_tag_list_to_ansible_dict(response.get("TagSet", []))


def state_of(head, tags=None):
    if head is None:
        return {}
    state = {
        "sha256": head.get("Metadata", {}).get("sha256"),
        "size": head.get("ContentLength"),
        "content_type": head.get("ContentType"),
    }
    if tags is not None:
        state["tags"] = tags
    return state


def upload(module, client, bucket, key, path, image, tags):
    params = {
        "Bucket": bucket,
        "Key": key,
        "ContentType": image["content_type"],
        "CacheControl": "no-cache",
        "Metadata": {"sha256": image["sha256"], "source-url": iri_to_uri(module.params["url"])},
    }
    if tags:
        params["Tagging"] = urlencode(tags, quote_via=quote)
    try:
        with open(path, "rb") as body:
            response = client.put_object(Body=body, aws_retry=True, **params)
    except is_boto3_error_code("NoSuchBucket"):
        raise ModuleError(f"bucket {bucket} does not exist") from None
    except (ClientError, BotoCoreError) as e:  # pylint: disable=duplicate-except
        raise ModuleError(f"Unable to upload {module.params['url']} to {key} in bucket {bucket}", e) from e
    return response.get("ETag")


def put_tags(module, client, bucket, key, tags):
    try:
        client.put_object_tagging(
            Bucket=bucket,
            Key=key,
            Tagging={"TagSet": ansible_dict_to_boto3_tag_list(tags)},
            aws_retry=True,
        )
    except (ClientError, BotoCoreError) as e:
        raise ModuleError(f"Unable to set the tags of object {key} in bucket {bucket}", e) from e


def source_image(module, url):
    """(path, image, temporary): O(src) checked again, or O(url) downloaded into a temporary file.
    Raises ModuleError."""
    max_size = module.params["max_size"]
    if module.params["src"]:
        path = module.params["src"]
        try:
            return path, image_of_file(path, max_size), False
        except ImageFetchError as e:
            raise ModuleError(f"Unable to use the image fetched from {url}: {e}", source_url=url) from e
    fd, path = tempfile.mkstemp(prefix="s3_image_upload-", dir=module.tmpdir)
    try:
        with os.fdopen(fd, "wb") as dest:
            image = download(url, dest, module.params["timeout"], max_size, module.params["validate_certs"])
    except ImageFetchError as e:
        os.remove(path)
        raise ModuleError(f"Unable to download {url}: {e}", source_url=url) from e
    return path, image, True


def publish(module, client, bucket, key, url, tags):
    """Downloads the image and puts it in the bucket unless the object already is that image
    with those tags; returns the module's result. Raises ModuleError."""
    if module.params["bucket_region"]:
        bucket_exists, region = True, module.params["bucket_region"]
    else:
        bucket_exists, region = bucket_region(module, client, bucket)
    region = region or module.region

    path, image, temporary = source_image(module, url)
    try:
        head = current_object(module, client, bucket, key) if bucket_exists else None
        old_tags = None
        if head is not None and tags is not None:
            old_tags = current_tags(module, client, bucket, key)

        content_same = (
            head is not None
            and head.get("Metadata", {}).get("sha256") == image["sha256"]
            and head.get("ContentType") == image["content_type"]
        )
        tags_same = tags is None or (head is not None and old_tags == tags)
        changed = not (content_same and tags_same)
        etag = head.get("ETag") if head is not None else None

        after = {"sha256": image["sha256"], "size": image["size"], "content_type": image["content_type"]}
        if tags is not None:
            after["tags"] = tags
        before = state_of(head, old_tags)

        if changed and not module.check_mode:
            if not content_same:
                keep_tags = tags
                if keep_tags is None and head is not None:
                    keep_tags = current_tags(module, client, bucket, key)
                etag = upload(module, client, bucket, key, path, image, keep_tags)
            else:
                put_tags(module, client, bucket, key, tags)
        elif changed and not content_same:
            etag = None  # check mode: the object would be replaced
    finally:
        if temporary and os.path.exists(path):
            os.remove(path)

    result = {
        "changed": changed,
        "url": object_url(module.params.get("endpoint_url"), bucket, key, region or "us-east-1"),
        "bucket": bucket,
        "key": key,
        "content_type": image["content_type"],
        "size": image["size"],
        "sha256": image["sha256"],
        "source_url": url,
    }
    if etag:
        result["etag"] = etag.strip('"')
    if tags is not None:
        result["tags"] = tags
    if module._diff:
        result["diff"] = {"before": before, "after": after}
    return result


def main():
    argument_spec = {
        "bucket": {"type": "str", "required": True},
        "bucket_region": {"type": "str", "default": ""},
        "key": {"type": "str", "default": "image.jpg", "no_log": False},
        "url": {"type": "str", "required": True},
        "src": {"type": "path"},
        "timeout": {"type": "int", "default": 30},
        "max_size": {"type": "int", "default": 10485760},
        "tags": {"type": "dict"},
        "validate_certs": {"type": "bool", "default": True},
    }
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)

    bucket = module.params["bucket"]
    key = module.params["key"]
    url = module.params["url"]
    timeout = module.params["timeout"]
    max_size = module.params["max_size"]
    tags = module.params["tags"]
    if tags is not None:
        tags = {str(k): str(v) for k, v in tags.items()}

    problem = check_scheme(url)
    if problem:
        module.fail_json(msg=f"Invalid url {url}: {problem}")
    if timeout <= 0:
        module.fail_json(msg=f"timeout must be a positive number of seconds, got {timeout}")
    if max_size <= 0:
        module.fail_json(msg=f"max_size must be a positive number of bytes, got {max_size}")
    if not key or key.startswith("/"):
        module.fail_json(msg=f"key must be non-empty and must not start with '/', got {key!r}")
    problem = bucket_name_problem(bucket)
    if problem:
        module.fail_json(msg=f"Invalid bucket name {bucket}: {problem}")

    counter = ApiCallCounter()
    client = counter.attach(module.client("s3", retry_decorator=AWSRetry.jittered_backoff()))
    try:
        result = publish(module, client, bucket, key, url, tags)
    except ModuleError as e:
        fail(module, e)
    module.exit_json(**result, api_calls_by_operation=counter.by_operation)


if __name__ == "__main__":
    main()
