"""The image origin: a local stand-in for http://devops.witdemo.net/image.jpg.

It serves whatever image is current at /image.jpg. The image can be switched
(`localcloud origin next` draws a new one, `localcloud origin set FILE` serves a file),
so "the image at this URL changes over time" can be exercised without the internet.
"""

from __future__ import annotations

import io
import shutil
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from .errors import LocalCloudError

PALETTE = [(32, 82, 149), (214, 96, 77), (46, 139, 87), (138, 79, 160), (199, 148, 39), (40, 40, 40)]


def draw(number: int) -> bytes:
    """A real JPEG, different for every number: a gradient, a sun and a caption."""
    from PIL import Image, ImageDraw, ImageFont

    width, height = 960, 540
    top = PALETTE[number % len(PALETTE)]
    bottom = PALETTE[(number + 2) % len(PALETTE)]
    img = Image.new("RGB", (width, height))
    pixels = ImageDraw.Draw(img)
    for y in range(height):
        t = y / (height - 1)
        pixels.line([(0, y), (width, y)], fill=tuple(int(a + (b - a) * t) for a, b in zip(top, bottom, strict=True)))
    x = 140 + (number * 170) % (width - 280)
    pixels.ellipse([x - 70, 90, x + 70, 230], fill=(255, 223, 94))
    font = ImageFont.load_default(size=44)
    caption = f"Local cloud image #{number}"
    box = pixels.textbbox((0, 0), caption, font=font)
    pixels.text(((width - (box[2] - box[0])) / 2, height - 140), caption, fill="white", font=font)
    out = io.BytesIO()
    img.save(out, "JPEG", quality=85)
    return out.getvalue()


class Origin:
    """The files behind the origin: the current image and its number."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.image = folder / "image.jpg"
        self.counter = folder / "number"

    def ensure(self) -> None:
        if not self.image.exists():
            self.next()

    def number(self) -> int:
        try:
            return int(self.counter.read_text())
        except (FileNotFoundError, ValueError):
            return 0

    def next(self) -> int:
        number = self.number() + 1
        self.folder.mkdir(parents=True, exist_ok=True)
        self._write(draw(number))
        self.counter.write_text(str(number))
        return number

    def set(self, source: Path) -> None:
        from PIL import Image, UnidentifiedImageError

        try:
            with Image.open(source) as img:
                kind = img.format
        except (FileNotFoundError, UnidentifiedImageError, OSError) as exc:
            raise LocalCloudError(f"{source} is not a readable image: {exc}") from None
        if kind != "JPEG":
            raise LocalCloudError(f"{source} is a {kind} image; the origin serves /image.jpg, so give it a JPEG.")
        self.folder.mkdir(parents=True, exist_ok=True)
        tmp = self.image.with_suffix(".tmp")
        shutil.copyfile(source, tmp)
        tmp.replace(self.image)

    def _write(self, data: bytes) -> None:
        tmp = self.image.with_suffix(".tmp")
        tmp.write_bytes(data)
        tmp.replace(self.image)


class _Handler(BaseHTTPRequestHandler):
    server: OriginServer

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        self.server.log(f"origin: {format % args}")

    def do_GET(self) -> None:
        if self.path.split("?")[0] != "/image.jpg":
            self.send_error(404, "Not Found")
            return
        try:
            data = self.server.origin.image.read_bytes()
        except FileNotFoundError:
            self.send_error(404, "No image yet")
            return
        self.send_response(200)
        self.send_header("Content-Type", "image/jpeg")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    do_HEAD = do_GET  # noqa: N815 - http.server dispatches on this name


class OriginServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, host: str, port: int, origin: Origin, log):
        super().__init__((host, port), _Handler)
        self.origin = origin
        self.log = log

    def start(self) -> None:
        self.origin.ensure()
        threading.Thread(target=self.serve_forever, name="origin", daemon=True).start()
