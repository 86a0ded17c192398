# Copyright: Contributors to the Ansible project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""An image fetched whole from an HTTP(S) URL and checked, before anything depends on it.

- ``download(url, dest, timeout, max_size, validate_certs)``: streams the URL into an open file,
  whole or not at all, and says what it is (SHA-256, size, the raster type its first bytes show);
  raises ImageFetchError naming why not: an HTTP error, nothing answering, empty or non-raster
  content (an SVG, a page), larger than max_size, slower than timeout from connecting to the last
  byte (an endless or trickling origin), cut before its format's end.
- ``fetch_to_file(url, path, ...)``: the same into ``path``, written atomically (a reader sees the
  previous file or the whole new one), so the bytes checked before the run creates anything are
  the bytes it uploads later (deployment_info fetches, s3_image_upload's ``src`` uploads).
- ``image_of_file(path, max_size)``: what a file already fetched holds, checked again.
- ``iri_to_uri(url)``: a URL with non-ASCII characters as browsers send it (IDNA host,
  UTF-8 percent-encoded path and query), which http.client's ASCII request line needs.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import tempfile
import time
import urllib.error
from urllib.parse import quote, urljoin, urlsplit, urlunsplit

from ansible.module_utils.urls import ConnectionError as UrlsConnectionError
from ansible.module_utils.urls import open_url

from .deployment_http import describe_url_error

ALLOWED_SCHEMES = ("http", "https")
MAX_REDIRECTS = 10
REDIRECT_CODES = (301, 302, 303, 307, 308)
CHUNK_SIZE = 64 * 1024
# Enough leading bytes for every signature below (BMP needs 18).
SNIFF_BYTES = 32
BMP_DIB_HEADER_SIZES = (12, 40, 52, 56, 64, 108, 124)
USER_AGENT = "ansible-s3_image_upload"
# What browsers leave as it is in a path or query (RFC 3986's reserved and unreserved characters,
# and '%' so that an already encoded URL stays as it is).
PATH_SAFE = "/%:@!$&'()*+,;=~-._"
QUERY_SAFE = PATH_SAFE + "?"


def iri_to_uri(url):
    """url with its non-ASCII host in IDNA and non-ASCII (or space) path, query and fragment
    characters percent-encoded as UTF-8, as browsers send it; an ASCII URL is returned as it is."""
    if url.isascii() and " " not in url:
        return url
    parts = urlsplit(url)
    host = parts.hostname or ""
    if not host.isascii():
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError as error:
            raise ImageFetchError(
                f"the host name {parts.hostname!r} is not a valid international name ({error})"
            ) from error
    netloc = host
    if parts.port is not None:
        netloc = f"{host}:{parts.port}"
    if parts.username is not None:
        userinfo = quote(parts.username, safe="")
        if parts.password is not None:
            userinfo += ":" + quote(parts.password, safe="")
        netloc = f"{userinfo}@{netloc}"
    return urlunsplit(
        (
            parts.scheme,
            netloc,
            quote(parts.path, safe=PATH_SAFE),
            quote(parts.query, safe=QUERY_SAFE),
            quote(parts.fragment, safe=QUERY_SAFE),
        )
    )


class ImageFetchError(Exception):
    """Why the image could not be fetched, or is not a whole raster image (the caller adds the URL)."""


def detect_image_type(head):
    """Return the MIME type of an image from its leading bytes, or None."""
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    # "BM" alone is too weak: also require a known DIB header size.
    dib_size = int.from_bytes(head[14:18], "little") if len(head) >= 18 else 0
    if head[:2] == b"BM" and dib_size in BMP_DIB_HEADER_SIZES:
        return "image/bmp"
    return None


# The last bytes a complete file of each type ends with (JPEG's EOI marker, PNG's IEND chunk with
# its CRC, GIF's trailer). Bytes some tools append after the end (NULs, line ends) are ignored.
END_MARKERS = {
    "image/jpeg": b"\xff\xd9",
    "image/png": b"IEND\xaeB`\x82",
    "image/gif": b";",
}
TAIL_BYTES = 64
TRAILING_PADDING = b"\x00\r\n \t"


def declared_size(content_type, head):
    """The file size a WebP (RIFF) or BMP header declares, or None for types without one."""
    if content_type == "image/webp" and len(head) >= 8:
        return int.from_bytes(head[4:8], "little") + 8
    if content_type == "image/bmp" and len(head) >= 6:
        return int.from_bytes(head[2:6], "little")
    return None


def incomplete(content_type, head, tail, size):
    """Why the downloaded bytes are not a whole image of content_type ('' when they are)."""
    marker = END_MARKERS.get(content_type)
    if marker is not None and not tail.rstrip(TRAILING_PADDING).endswith(marker):
        return f"the {content_type} content ends without its end marker {marker.hex(' ')} after {size} bytes"
    expected = declared_size(content_type, head)
    if expected is not None and size < expected:
        return f"the {content_type} header declares {expected} bytes, but only {size} arrived"
    return ""


def describe_bytes(head):
    """Render leading bytes for an error message: hex and a printable form."""
    if not head:
        return "none (empty response)"
    shown = head[:16]
    return f"{shown.hex(' ')} ({shown!r})"


def check_scheme(url):
    scheme = urlsplit(url).scheme.lower()
    if scheme not in ALLOWED_SCHEMES:
        return f"unsupported scheme {scheme or 'none'!r} (only http and https are allowed)"
    return None


def open_source(url, timeout, validate_certs, agent=USER_AGENT):
    """Open url, following redirects only to http(s) URLs. Returns (response, final_url)."""
    current = iri_to_uri(url)
    for _redirect in range(MAX_REDIRECTS + 1):
        try:
            response = open_url(
                current,
                method="GET",
                timeout=timeout,
                validate_certs=validate_certs,
                follow_redirects="none",
                http_agent=agent,
            )
            return response, current
        except urllib.error.HTTPError as e:
            location = e.headers.get("Location") if e.headers else None
            e.close()
            if e.code not in REDIRECT_CODES:
                raise ImageFetchError(f"HTTP {e.code} {e.reason}") from e
            if not location:
                raise ImageFetchError(f"HTTP {e.code} {e.reason} without a Location header") from e
            target = urljoin(current, location)
            problem = check_scheme(target)
            if problem:
                raise ImageFetchError(f"redirected to {target}: {problem}") from e
            current = iri_to_uri(target)
    raise ImageFetchError(f"more than {MAX_REDIRECTS} redirects")


def download(url, dest, timeout, max_size, validate_certs, agent=USER_AGENT):
    """Stream url into the open binary file dest, whole or not at all.

    Returns a dict with the sha256, size and (detected) content_type of the content.
    Raises ImageFetchError with a reason (the caller adds the URL): a connection closed before the
    announced Content-Length, content without its format's end, or a download longer than timeout.
    """
    response = None
    deadline = time.monotonic() + timeout
    try:
        response, final_url = open_source(url, timeout, validate_certs, agent)
        via = "" if final_url == iri_to_uri(url) else f" (redirected to {final_url})"
        claimed = response.headers.get("Content-Type") or "none"
        encoding = (response.headers.get("Content-Encoding") or "identity").lower()
        length = response.headers.get("Content-Length")
        if encoding == "identity" and length and length.strip().isdigit() and int(length) > max_size:
            raise ImageFetchError(
                f"image is larger than max_size {max_size} bytes{via} (Content-Length: {int(length)})"
            )

        digest = hashlib.sha256()
        size = 0
        head = b""
        tail = b""
        content_type = None
        # read1 returns what one receive brings, so the deadline holds against a server that trickles.
        read = getattr(response, "read1", response.read)
        while True:
            if time.monotonic() > deadline:
                raise ImageFetchError(f"the download took longer than {timeout} s (timeout) after {size} bytes{via}")
            chunk = read(CHUNK_SIZE)
            if not chunk:
                break
            size += len(chunk)
            tail = (tail + chunk)[-TAIL_BYTES:]
            if size > max_size:
                raise ImageFetchError(f"image is larger than max_size {max_size} bytes{via}")
            if content_type is None and len(head) < SNIFF_BYTES:
                head += chunk[: SNIFF_BYTES - len(head)]
                if len(head) >= SNIFF_BYTES:
                    content_type = detect_image_type(head)
                    if content_type is None:
                        break  # not an image: no need to read further
            digest.update(chunk)
            dest.write(chunk)
        if content_type is None:
            content_type = detect_image_type(head)
        if content_type is None:
            raise ImageFetchError(
                f"the content is not an image{via}: the server claimed Content-Type '{claimed}', "
                f"first bytes seen: {describe_bytes(head)}"
            )
        if encoding == "identity" and length and length.strip().isdigit() and size != int(length):
            raise ImageFetchError(
                f"the connection closed after {size} of the {int(length)} bytes announced (Content-Length){via}"
            )
        problem = incomplete(content_type, head, tail, size)
        if problem:
            raise ImageFetchError(f"the image is incomplete{via}: {problem}")
        dest.flush()
        return {"sha256": digest.hexdigest(), "size": size, "content_type": content_type}
    except ImageFetchError:
        raise
    except TimeoutError as e:
        raise ImageFetchError(describe_url_error(e, timeout)) from e
    except urllib.error.URLError as e:  # raised while connecting
        raise ImageFetchError(
            f"nothing answers there ({describe_url_error(e, timeout)}); check the host name and port,"
            " and that this machine can reach it"
        ) from e
    except UrlsConnectionError as e:
        raise ImageFetchError(str(e)) from e
    except http.client.IncompleteRead as e:
        raise ImageFetchError(f"the connection closed before the end of the image ({e})") from e
    except http.client.HTTPException as e:
        raise ImageFetchError(f"connection error ({type(e).__name__}: {e})") from e
    except ValueError as e:
        raise ImageFetchError(f"invalid URL ({e})") from e
    except OSError as e:
        raise ImageFetchError(describe_url_error(e, timeout)) from e
    finally:
        if response is not None:
            response.close()


def fetch_to_file(url, path, timeout, max_size, validate_certs=True, agent=USER_AGENT):
    """download() into path, atomically: a failed fetch leaves the previous file (if any) as it was.
    The directory is made (0700) when missing; the file is the user's only (0600)."""
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, mode=0o700, exist_ok=True)
    fd, partial = tempfile.mkstemp(prefix=".fetching-", dir=directory)
    try:
        with os.fdopen(fd, "wb") as dest:
            image = download(url, dest, timeout, max_size, validate_certs, agent)
        os.replace(partial, path)
    finally:
        if os.path.exists(partial):
            os.remove(partial)
    return dict(image, path=path)


def image_of_file(path, max_size):
    """What the image file at path holds: its sha256, size and content_type, checked as download()
    checks a fetch (a raster image, whole, at most max_size bytes). Raises ImageFetchError."""
    try:
        size = os.path.getsize(path)
        if size > max_size:
            raise ImageFetchError(f"the image is larger than max_size {max_size} bytes ({size})")
        digest = hashlib.sha256()
        with open(path, "rb") as source:
            head = source.read(SNIFF_BYTES)
            digest.update(head)
            tail = head[-TAIL_BYTES:]
            for chunk in iter(lambda: source.read(CHUNK_SIZE), b""):
                digest.update(chunk)
                tail = (tail + chunk)[-TAIL_BYTES:]
    except OSError as error:
        raise ImageFetchError(f"cannot read {path}: {error.strerror or error}") from error
    content_type = detect_image_type(head)
    if content_type is None:
        raise ImageFetchError(f"{path} is not an image: first bytes {describe_bytes(head)}")
    problem = incomplete(content_type, head, tail, size)
    if problem:
        raise ImageFetchError(f"{path} is not a whole image: {problem}")
    return {"sha256": digest.hexdigest(), "size": size, "content_type": content_type}
