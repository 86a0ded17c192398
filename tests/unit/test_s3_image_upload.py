"""Tests for library/s3_image_upload.py.

The module runs as Ansible runs it: a separate Python process reading its arguments
from an ``ANSIBLE_MODULE_ARGS`` JSON file and printing its result as JSON. It talks
to moto's S3 server and downloads from a local HTTP origin, both on 127.0.0.1 in
threads of this test process. Nothing leaves the loopback interface.
"""

import contextlib
import hashlib
import importlib.util
import json
import os
import socket
import struct
import threading
import time
import urllib.request
import uuid
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

REPO = Path(__file__).resolve().parents[2]
MODULE_PATH = REPO / "library" / "s3_image_upload.py"
REGION = "us-east-1"
CREDENTIALS = {"access_key": "testing", "secret_key": "testing", "region": REGION}
SLOW_SECONDS = 6  # how long /slow.jpg waits before answering
SMALL_MAX_SIZE = 10_000
TRICKLE_SECONDS = 0.25  # /trickle.jpg sends one byte each


def _jpeg_segment(marker, payload):
    return bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2) + payload


def make_jpeg(level):
    """Return a real, decodable baseline JPEG: 8x8 grey pixels of value ``level``.

    Quantiser 1 everywhere and one-symbol Huffman tables, so the single block is the
    DC category code "0", the DC difference bits, and the end-of-block code "0".
    """
    dc = 8 * (level - 128)  # DC coefficient of a flat 8x8 block
    category = abs(dc).bit_length()
    bits = "0"
    if category:
        value = dc if dc > 0 else dc + (1 << category) - 1
        bits += format(value, f"0{category}b")
    bits += "0"
    bits += "1" * (-len(bits) % 8)
    scan = bytes(int(bits[i : i + 8], 2) for i in range(0, len(bits), 8))
    scan = scan.replace(b"\xff", b"\xff\x00")
    one_code_of_length_1 = bytes([1] + [0] * 15)
    return b"".join(
        [
            b"\xff\xd8",
            _jpeg_segment(0xDB, b"\x00" + b"\x01" * 64),
            _jpeg_segment(0xC0, struct.pack(">BHHB", 8, 8, 8, 1) + b"\x01\x11\x00"),
            _jpeg_segment(0xC4, b"\x00" + one_code_of_length_1 + bytes([category])),
            _jpeg_segment(0xC4, b"\x10" + one_code_of_length_1 + b"\x00"),
            _jpeg_segment(0xDA, b"\x01\x01\x00\x00\x3f\x00"),
            scan,
            b"\xff\xd9",
        ]
    )


def make_png(width, height, rgb):
    """Return a real PNG of one colour."""

    def chunk(kind, data):
        crc = zlib.crc32(kind + data)
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    rows = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


JPEG_GREY = make_jpeg(128)
JPEG_LIGHT = make_jpeg(200)
PNG_RED = make_png(3, 2, (255, 0, 0))
HTML = b"<!DOCTYPE html>\n<html><body>Not found, but 200 anyway</body></html>\n"


def sha256(data):
    return hashlib.sha256(data).hexdigest()


class OriginHandler(BaseHTTPRequestHandler):
    """The image origin. HTTP/1.0: each response ends by closing the connection."""

    def log_message(self, format, *args):  # noqa: A002 - signature of the base class
        pass

    def _send(self, status, body, content_type, length=None):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body) if length is None else length))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        # The client may give up (timeout, oversize); a broken pipe is expected then.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self._route()

    def _route(self):
        path = self.path
        if path == "/photo.jpg":
            self._send(200, JPEG_GREY, "image/jpeg")
        elif path == "/logo.png":
            # A wrong header on purpose: the module must detect PNG from the bytes.
            self._send(200, PNG_RED, "application/octet-stream")
        elif path == "/switch":
            body, content_type = self.server.switch
            self._send(200, body, content_type)
        elif path == "/fake.jpg":
            self._send(200, HTML, "image/jpeg")
        elif path == "/redirect.jpg":
            self.send_response(302)
            self.send_header("Location", "/photo.jpg")
            self.end_headers()
        elif path == "/redirect-ftp.jpg":
            self.send_response(302)
            self.send_header("Location", "ftp://127.0.0.1/photo.jpg")
            self.end_headers()
        elif path == "/slow.jpg":
            time.sleep(SLOW_SECONDS)
            self._send(200, JPEG_GREY, "image/jpeg")
        elif path == "/huge.jpg":
            # JPEG magic first, so only the size can stop it; no Content-Length.
            self.send_response(200)
            self.send_header("Content-Type", "image/jpeg")
            self.end_headers()
            self.wfile.write(b"\xff\xd8\xff\xe0")
            for _ in range(64):
                self.wfile.write(b"\x00" * 4096)
        elif path == "/huge-declared.jpg":
            self._send(200, JPEG_GREY, "image/jpeg", length=50_000_000)
        elif path == "/cut.jpg":
            # Announces the whole image, sends half, closes: a dropped connection.
            self._send(200, JPEG_LIGHT[: len(JPEG_LIGHT) // 2], "image/jpeg", length=len(JPEG_LIGHT))
        elif path in ("/cut-unsized.jpg", "/cut-unsized.png"):
            # No length at all: only the format's missing end can tell.
            body = JPEG_LIGHT if path.endswith(".jpg") else PNG_RED
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.end_headers()
            self.wfile.write(body[: len(body) - 5])
        elif path == "/trickle.jpg":
            # A whole image, a byte at a time: TRICKLE_SECONDS per byte.
            self.send_response(200)
            self.send_header("Content-Type", "image/jpeg")
            self.send_header("Content-Length", str(len(JPEG_LIGHT)))
            self.end_headers()
            for i in range(len(JPEG_LIGHT)):
                self.wfile.write(JPEG_LIGHT[i : i + 1])
                self.wfile.flush()
                time.sleep(TRICKLE_SECONDS)
        else:
            self.send_error(404, "Not Found")


# Fixtures ---------------------------------------------------------------------


@pytest.fixture(scope="session", autouse=True)
def _isolated_aws_env():
    """Keep boto3 in this process away from any real AWS configuration."""
    with pytest.MonkeyPatch.context() as mp:
        for name in list(os.environ):
            if name.startswith("AWS_") or name.lower().endswith("_proxy"):
                mp.delenv(name)
        mp.setenv("AWS_CONFIG_FILE", os.devnull)
        mp.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
        mp.setenv("AWS_ACCESS_KEY_ID", "testing")
        mp.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        mp.setenv("AWS_DEFAULT_REGION", REGION)
        mp.setenv("AWS_EC2_METADATA_DISABLED", "true")
        mp.setenv("NO_PROXY", "127.0.0.1,localhost")
        yield


@pytest.fixture(scope="module")
def endpoint(moto_endpoint):
    return moto_endpoint


@pytest.fixture(scope="module")
def s3(moto_client):
    return moto_client("s3")


@pytest.fixture(scope="session")
def origin():
    server = ThreadingHTTPServer(("127.0.0.1", 0), OriginHandler)
    server.switch = (JPEG_GREY, "image/jpeg")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    host, port = server.server_address[:2]
    server.base = f"http://{host}:{port}"
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def bucket(s3):
    name = f"img-{uuid.uuid4().hex[:16]}"
    s3.create_bucket(Bucket=name)
    return name


@pytest.fixture
def run(run_module):
    """Run the module as Ansible does; return its result (a failure exits 1, success 0)."""

    def _run(check_mode=False, diff=False, **args):
        rc, result = run_module("s3_image_upload", check_mode=check_mode, diff=diff, **args)
        assert rc == (1 if result.get("failed") else 0), result
        return result

    return _run


@pytest.fixture(scope="session")
def module_code():
    """The module imported in-process, for its pure helpers."""
    spec = importlib.util.spec_from_file_location("s3_image_upload", MODULE_PATH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def keys_in(s3, bucket):
    return [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]


def http_get(url):
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(url, timeout=10) as response:
        return response.read()


# Uploads and idempotence --------------------------------------------------------


def test_upload_creates_object(run, s3, origin, endpoint, bucket):
    # Let anonymous clients read, as for a bucket that serves public images.
    public_read = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:GetObject",
                "Resource": f"arn:aws:s3:::{bucket}/*",
            }
        ],
    }
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(public_read))
    source = f"{origin.base}/photo.jpg"
    result = run(bucket=bucket, key="photos/new cat.jpg", url=source)

    assert result["changed"] is True
    assert "failed" not in result
    assert "warnings" not in result
    assert result["bucket"] == bucket
    assert result["key"] == "photos/new cat.jpg"
    assert result["content_type"] == "image/jpeg"
    assert result["size"] == len(JPEG_GREY)
    assert result["sha256"] == sha256(JPEG_GREY)
    assert result["source_url"] == source
    assert result["url"] == f"{endpoint}/{bucket}/photos/new%20cat.jpg"

    head = s3.head_object(Bucket=bucket, Key="photos/new cat.jpg")
    assert head["ContentType"] == "image/jpeg"
    assert head["ContentLength"] == len(JPEG_GREY)
    assert head["Metadata"] == {"sha256": sha256(JPEG_GREY), "source-url": source}
    assert result["etag"] == head["ETag"].strip('"')
    body = s3.get_object(Bucket=bucket, Key="photos/new cat.jpg")["Body"].read()
    assert body == JPEG_GREY
    assert http_get(result["url"]) == JPEG_GREY


def test_png_type_comes_from_bytes_not_header(run, s3, origin, bucket):
    result = run(bucket=bucket, key="logo.png", url=f"{origin.base}/logo.png")

    assert result["changed"] is True
    assert result["content_type"] == "image/png"
    assert result["sha256"] == sha256(PNG_RED)
    head = s3.head_object(Bucket=bucket, Key="logo.png")
    assert head["ContentType"] == "image/png"


def test_rerun_is_unchanged_and_does_not_upload(run, s3, origin, bucket):
    source = f"{origin.base}/photo.jpg"
    first = run(bucket=bucket, url=source)
    assert first["changed"] is True
    assert first["key"] == "image.jpg"  # the default key
    # Rewrite the object with a marker: a new upload would drop it.
    s3.put_object(
        Bucket=bucket,
        Key="image.jpg",
        Body=JPEG_GREY,
        ContentType="image/jpeg",
        Metadata={"sha256": sha256(JPEG_GREY), "source-url": source, "marker": "kept"},
    )
    etag = s3.head_object(Bucket=bucket, Key="image.jpg")["ETag"].strip('"')

    second = run(bucket=bucket, url=source)

    assert second["changed"] is False
    assert second["sha256"] == first["sha256"]
    assert second["etag"] == etag
    assert s3.head_object(Bucket=bucket, Key="image.jpg")["Metadata"]["marker"] == "kept"
    assert second["api_calls_by_operation"] == {"HeadBucket": 1, "HeadObject": 1}


def test_a_known_bucket_region_saves_the_head_bucket_call(run, origin, bucket):
    source = f"{origin.base}/photo.jpg"
    first = run(bucket=bucket, url=source, bucket_region="us-east-1", tags={"Deployment": "web"})
    assert first["changed"] is True and "HeadBucket" not in first["api_calls_by_operation"]
    again = run(bucket=bucket, url=source, bucket_region="us-east-1", tags={"Deployment": "web"})
    assert again["changed"] is False
    assert again["api_calls_by_operation"] == {"HeadObject": 1, "GetObjectTagging": 1}


def test_changed_image_at_same_url_is_uploaded(run, s3, origin, bucket):
    source = f"{origin.base}/switch"
    origin.switch = (JPEG_GREY, "image/jpeg")
    first = run(bucket=bucket, url=source)
    assert first["changed"] is True
    assert first["sha256"] == sha256(JPEG_GREY)

    origin.switch = (JPEG_LIGHT, "image/jpeg")
    second = run(bucket=bucket, url=source)

    assert second["changed"] is True
    assert second["sha256"] == sha256(JPEG_LIGHT) != first["sha256"]
    assert second["etag"] != first["etag"]
    assert s3.get_object(Bucket=bucket, Key="image.jpg")["Body"].read() == JPEG_LIGHT
    meta = s3.head_object(Bucket=bucket, Key="image.jpg")["Metadata"]
    assert meta["sha256"] == sha256(JPEG_LIGHT)

    origin.switch = (PNG_RED, "image/jpeg")
    third = run(bucket=bucket, url=source)
    assert third["changed"] is True
    assert third["content_type"] == "image/png"
    assert s3.head_object(Bucket=bucket, Key="image.jpg")["ContentType"] == "image/png"


def test_wrong_content_type_on_object_is_corrected(run, s3, origin, bucket):
    source = f"{origin.base}/photo.jpg"
    s3.put_object(
        Bucket=bucket,
        Key="image.jpg",
        Body=JPEG_GREY,
        ContentType="application/octet-stream",
        Metadata={"sha256": sha256(JPEG_GREY)},
    )

    result = run(bucket=bucket, url=source)

    assert result["changed"] is True
    assert s3.head_object(Bucket=bucket, Key="image.jpg")["ContentType"] == "image/jpeg"


def test_check_mode_reports_change_and_uploads_nothing(run, s3, origin, bucket):
    source = f"{origin.base}/photo.jpg"
    result = run(check_mode=True, bucket=bucket, url=source)

    assert result["changed"] is True
    assert result["sha256"] == sha256(JPEG_GREY)
    assert result["size"] == len(JPEG_GREY)
    assert "etag" not in result
    assert keys_in(s3, bucket) == []

    run(bucket=bucket, url=source)
    again = run(check_mode=True, bucket=bucket, url=source)
    assert again["changed"] is False


def test_check_mode_does_not_replace_existing_object(run, s3, origin, bucket):
    origin.switch = (JPEG_GREY, "image/jpeg")
    run(bucket=bucket, url=f"{origin.base}/switch")
    origin.switch = (JPEG_LIGHT, "image/jpeg")

    result = run(check_mode=True, bucket=bucket, url=f"{origin.base}/switch")

    assert result["changed"] is True
    assert result["sha256"] == sha256(JPEG_LIGHT)
    assert s3.get_object(Bucket=bucket, Key="image.jpg")["Body"].read() == JPEG_GREY


def test_diff_shows_before_and_after(run, origin, bucket):
    source = f"{origin.base}/switch"
    origin.switch = (JPEG_GREY, "image/jpeg")
    created = run(diff=True, bucket=bucket, url=source)

    assert created["diff"]["before"] == {}
    assert created["diff"]["after"] == {
        "sha256": sha256(JPEG_GREY),
        "size": len(JPEG_GREY),
        "content_type": "image/jpeg",
    }

    origin.switch = (PNG_RED, "image/png")
    replaced = run(diff=True, bucket=bucket, url=source)

    assert replaced["changed"] is True
    assert replaced["diff"]["before"] == created["diff"]["after"]
    assert replaced["diff"]["after"] == {
        "sha256": sha256(PNG_RED),
        "size": len(PNG_RED),
        "content_type": "image/png",
    }

    without_diff = run(bucket=bucket, url=source)
    assert "diff" not in without_diff


def test_redirect_is_followed(run, s3, origin, bucket):
    source = f"{origin.base}/redirect.jpg"
    result = run(bucket=bucket, url=source)

    assert result["changed"] is True
    assert result["sha256"] == sha256(JPEG_GREY)
    assert result["source_url"] == source
    meta = s3.head_object(Bucket=bucket, Key="image.jpg")["Metadata"]
    assert meta["source-url"] == source


def test_tags_are_set_and_updated_without_reupload(run, s3, origin, bucket):
    source = f"{origin.base}/photo.jpg"
    tags = {"project": "website", "team": "web ops"}

    def object_tags():
        tag_set = s3.get_object_tagging(Bucket=bucket, Key="image.jpg")["TagSet"]
        return {t["Key"]: t["Value"] for t in tag_set}

    first = run(bucket=bucket, url=source, tags=tags)
    assert first["changed"] is True
    assert first["tags"] == tags
    assert object_tags() == tags

    assert run(bucket=bucket, url=source, tags=tags)["changed"] is False

    retagged = run(bucket=bucket, url=source, tags={"project": "shop"})
    assert retagged["changed"] is True
    assert object_tags() == {"project": "shop"}
    assert retagged["etag"] == first["etag"]

    # Without tags, a changed image keeps the object's tags.
    origin.switch = (JPEG_LIGHT, "image/jpeg")
    replaced = run(bucket=bucket, url=f"{origin.base}/switch")
    assert replaced["changed"] is True
    assert "tags" not in replaced
    assert object_tags() == {"project": "shop"}


# Failures ---------------------------------------------------------------------


def test_http_404_fails(run, s3, origin, bucket):
    source = f"{origin.base}/missing.jpg"
    result = run(bucket=bucket, url=source)

    assert result["failed"] is True
    assert source in result["msg"]
    assert "HTTP 404 Not Found" in result["msg"]
    assert keys_in(s3, bucket) == []


def test_timeout_fails_quickly(run, s3, origin, bucket):
    source = f"{origin.base}/slow.jpg"
    started = time.monotonic()
    result = run(bucket=bucket, url=source, timeout=1)
    elapsed = time.monotonic() - started

    assert result["failed"] is True
    assert source in result["msg"]
    assert "timed out after 1 s" in result["msg"]
    assert elapsed < SLOW_SECONDS - 1
    assert keys_in(s3, bucket) == []


def test_connection_refused_fails(run, s3, bucket):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    source = f"http://127.0.0.1:{port}/photo.jpg"  # nothing listens there now

    result = run(bucket=bucket, url=source)

    assert result["failed"] is True
    assert source in result["msg"]
    assert "connection refused" in result["msg"]
    assert keys_in(s3, bucket) == []


def test_redirect_to_other_scheme_fails(run, s3, origin, bucket):
    source = f"{origin.base}/redirect-ftp.jpg"
    result = run(bucket=bucket, url=source)

    assert result["failed"] is True
    assert source in result["msg"]
    assert "ftp://127.0.0.1/photo.jpg" in result["msg"]
    assert "only http and https" in result["msg"]
    assert keys_in(s3, bucket) == []


def test_non_image_fails_despite_image_content_type(run, s3, origin, bucket):
    source = f"{origin.base}/fake.jpg"
    result = run(bucket=bucket, url=source)

    assert result["failed"] is True
    assert source in result["msg"]
    assert "not an image" in result["msg"]
    assert "'image/jpeg'" in result["msg"]  # what the server claimed
    assert HTML[:4].hex(" ") in result["msg"]  # the first bytes seen
    assert keys_in(s3, bucket) == []


def test_oversize_stream_fails_and_leaves_nothing(run, s3, origin, bucket):
    source = f"{origin.base}/huge.jpg"
    result = run(bucket=bucket, url=source, max_size=SMALL_MAX_SIZE)

    assert result["failed"] is True
    assert source in result["msg"]
    assert f"larger than max_size {SMALL_MAX_SIZE} bytes" in result["msg"]
    assert keys_in(s3, bucket) == []


def test_oversize_content_length_is_refused_early(run, s3, origin, bucket):
    source = f"{origin.base}/huge-declared.jpg"
    result = run(bucket=bucket, url=source, max_size=SMALL_MAX_SIZE)

    assert result["failed"] is True
    assert source in result["msg"]
    assert f"larger than max_size {SMALL_MAX_SIZE} bytes" in result["msg"]
    assert "Content-Length: 50000000" in result["msg"]
    assert keys_in(s3, bucket) == []


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("/cut.jpg", "the connection closed after"),
        ("/cut-unsized.jpg", "ends without its end marker ff d9"),
        ("/cut-unsized.png", "ends without its end marker"),
    ],
)
def test_cut_body_fails_and_keeps_the_good_image(run, s3, origin, bucket, path, reason):
    good = run(bucket=bucket, url=f"{origin.base}/photo.jpg", key="site/image.jpg")
    assert good["changed"] is True
    source = f"{origin.base}{path}"

    result = run(bucket=bucket, url=source, key="site/image.jpg")

    assert result["failed"] is True
    assert source in result["msg"]
    assert reason in result["msg"]
    assert "incomplete" in result["msg"] or "announced (Content-Length)" in result["msg"]
    assert keys_in(s3, bucket) == ["site/image.jpg"]
    kept = s3.get_object(Bucket=bucket, Key="site/image.jpg")
    assert kept["Body"].read() == JPEG_GREY
    assert kept["Metadata"]["sha256"] == sha256(JPEG_GREY)


def test_cut_body_on_a_new_key_uploads_nothing(run, s3, origin, bucket):
    result = run(bucket=bucket, url=f"{origin.base}/cut.jpg")

    assert result["failed"] is True
    assert f"after {len(JPEG_LIGHT) // 2} of the {len(JPEG_LIGHT)} bytes" in result["msg"]
    assert keys_in(s3, bucket) == []


def test_trickling_origin_is_stopped_by_the_whole_download_deadline(run, s3, origin, bucket):
    whole = len(JPEG_LIGHT) * TRICKLE_SECONDS
    assert whole > 20  # the per-read timeout alone would let it run this long
    source = f"{origin.base}/trickle.jpg"
    started = time.monotonic()
    result = run(bucket=bucket, url=source, timeout=2)
    elapsed = time.monotonic() - started

    assert result["failed"] is True
    assert source in result["msg"]
    assert "took longer than 2 s" in result["msg"]
    assert elapsed < whole / 2
    assert keys_in(s3, bucket) == []


@pytest.mark.parametrize(
    ("content_type", "data", "problem"),
    [
        ("image/jpeg", JPEG_GREY, ""),
        ("image/jpeg", JPEG_GREY + b"\r\n\x00", ""),
        ("image/png", PNG_RED, ""),
        ("image/gif", b"GIF89a" + b"\x00" * 20 + b";", ""),
        ("image/jpeg", JPEG_GREY[:-2], "end marker ff d9"),
        ("image/png", PNG_RED[:-4], "end marker"),
        ("image/webp", b"RIFF" + (100).to_bytes(4, "little") + b"WEBPVP8 " + b"\x00" * 20, "declares 108 bytes"),
        ("image/bmp", b"BM" + (60).to_bytes(4, "little") + b"\x00" * 20, "declares 60 bytes"),
    ],
)
def test_incomplete(module_code, content_type, data, problem):
    found = module_code.incomplete(content_type, data[:64], data[-64:], len(data))
    if problem:
        assert problem in found
    else:
        assert found == ""


# A given bucket_region skips HeadBucket: a missing bucket is then found at the upload, with the same message.
@pytest.mark.parametrize("region", ["", "us-east-1"], ids=["asked", "region-given"])
def test_missing_bucket_fails(run, s3, origin, region):
    missing = f"img-missing-{uuid.uuid4().hex[:12]}"
    result = run(bucket=missing, url=f"{origin.base}/photo.jpg", bucket_region=region)

    assert result["failed"] is True
    assert f"bucket {missing} does not exist" in result["msg"]
    with pytest.raises(ClientError):
        s3.head_bucket(Bucket=missing)


@pytest.mark.parametrize("region", ["", "us-east-1"], ids=["asked", "region-given"])
def test_missing_bucket_in_check_mode_would_upload(run, s3, origin, region):
    # In check mode an earlier task may be about to create the bucket: report the upload.
    missing = f"img-missing-{uuid.uuid4().hex[:12]}"
    result = run(check_mode=True, bucket=missing, url=f"{origin.base}/photo.jpg", bucket_region=region)

    assert result.get("failed") is not True, result
    assert result["changed"] is True
    with pytest.raises(ClientError):
        s3.head_bucket(Bucket=missing)


def test_bad_url_scheme_fails(run, s3, bucket):
    source = "ftp://127.0.0.1/photo.jpg"
    result = run(bucket=bucket, url=source)

    assert result["failed"] is True
    assert f"Invalid url {source}" in result["msg"]
    assert "only http and https" in result["msg"]
    assert keys_in(s3, bucket) == []


@pytest.mark.parametrize(
    ("name", "reason"),
    [("my.bucket", "it has dots"), ("My-Bucket", "uppercase letters"), ("xn--bucket", "prefix xn-- is reserved")],
)
def test_bucket_names_are_held_to_the_roles_rules(run, name, reason):
    # The same rules as the deployment role's deployment_bucket_name check (module_utils/deployment_rules.py).
    result = run(bucket=name, url="http://127.0.0.1:1/photo.jpg")

    assert result["failed"] is True
    assert f"Invalid bucket name {name}: " in result["msg"]
    assert reason in result["msg"]


# Helpers of the module, in-process ------------------------------------------------


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (JPEG_GREY, "image/jpeg"),
        (PNG_RED, "image/png"),
        (b"GIF87a\x01\x00\x01\x00" + b"\x00" * 22, "image/gif"),
        (b"GIF89a\x01\x00\x01\x00" + b"\x00" * 22, "image/gif"),
        (b"RIFF\x24\x00\x00\x00WEBPVP8 " + b"\x00" * 16, "image/webp"),
        (b"BM" + b"\x00" * 12 + struct.pack("<I", 40) + b"\x00" * 14, "image/bmp"),
        (b"BMW is not a bitmap, it is a car brand.", None),
        (b"RIFF\x24\x00\x00\x00WAVEfmt " + b"\x00" * 16, None),
        (HTML, None),
        (b"\xff\xd8", None),
        (b"", None),
    ],
)
def test_detect_image_type(module_code, head, expected):
    assert module_code.detect_image_type(head[:32]) == expected


def test_object_url_forms(module_code):
    assert (
        module_code.object_url(None, "site-assets", "a b/c+d.jpg", "eu-west-1")
        == "https://site-assets.s3.eu-west-1.amazonaws.com/a%20b/c%2Bd.jpg"
    )
    assert (
        module_code.object_url("http://127.0.0.1:5000/", "b1", "x/y.png", "us-east-1")
        == "http://127.0.0.1:5000/b1/x/y.png"
    )
