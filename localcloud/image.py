"""The local instance image: Debian 12 with systemd, cloud-init, OpenSSH and Apache.

No container registry is reachable here, so the image is built from Debian's packages with
debootstrap and imported into podman. Its tag is a hash of this recipe: changing the recipe
builds a new image (and so a new AMI id); an unchanged recipe reuses the image.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from . import config
from .errors import LocalCloudError
from .podman import Podman

SUITE = "bookworm"
PACKAGES = (
    "systemd", "systemd-sysv", "dbus", "cloud-init", "python3-cffi-backend",
    "openssh-server", "sudo", "python3", "curl", "ca-certificates", "apache2",
    "python3-apt", "iproute2", "procps", "less",
)  # fmt: skip

# cloud-init reads the metadata service as on EC2: the Ec2 data source, IMDSv2 tokens,
# only the IPv4 metadata address, and the login user Debian's AMIs use.
CLOUD_CFG = """\
# Written by the local cloud's image build.
datasource_list: [ LocalCloud, None ]
datasource:
  Ec2:
    strict_id: false
    metadata_urls: [ "http://169.254.169.254" ]
    max_wait: 60
    timeout: 5
# The local cloud configures eth0 itself; the image has no locales package.
network:
  config: disabled
locale: false
system_info:
  default_user:
    name: admin
    lock_passwd: true
    gecos: Debian
    groups: [adm, sudo]
    sudo: ["ALL=(ALL) NOPASSWD:ALL"]
    shell: /bin/bash
"""

# On EC2, cloud-init knows it runs on AWS from the hypervisor's DMI data, and only then
# asks for an IMDSv2 token. A container has no DMI data, so the image names the platform
# here; everything else is cloud-init's own Ec2 data source, configured as "Ec2" above.
DATASOURCE = """\
\"\"\"cloud-init's Ec2 data source on the local cloud, where no DMI data says "AWS".\"\"\"

from cloudinit import sources
from cloudinit.sources import DataSourceEc2 as ec2


class DataSourceLocalCloud(ec2.DataSourceEc2):
    dsname = "Ec2"

    def __init__(self, sys_cfg, distro, paths):
        super().__init__(sys_cfg, distro, paths)
        self._cloud_name = ec2.CloudNames.AWS


datasources = [(DataSourceLocalCloud, (sources.DEP_FILESYSTEM, sources.DEP_NETWORK))]


def get_datasource_list(depends):
    return sources.list_from_depends(depends, datasources)
"""

SOURCES_NOTE = """\
# The local cloud's instances have no route off the machine, so they have no package
# sources: the image already carries every package the project installs, and
# 'apt-get update' / 'apt-get upgrade' are no-ops here. On AWS the same commands patch the OS.
"""


def recipe_hash() -> str:
    text = "\n".join([SUITE, *PACKAGES, CLOUD_CFG, DATASOURCE, SOURCES_NOTE])
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def image_ref() -> str:
    return f"{config.IMAGE_NAME}:{recipe_hash()}"


def debian_mirror() -> str:
    """The Debian mirror this machine's apt already uses (never a hard-coded host)."""
    sources = [Path("/etc/apt/sources.list.d/debian.sources"), Path("/etc/apt/sources.list")]
    sources += sorted(Path("/etc/apt/sources.list.d").glob("*.sources"))
    sources += sorted(Path("/etc/apt/sources.list.d").glob("*.list"))
    for path in sources:
        if not path.is_file():
            continue
        text = path.read_text(errors="replace")
        deb822 = re.search(r"^URIs:\s*(\S+)", text, re.M)
        if deb822 and "security" not in deb822.group(1):
            return deb822.group(1)
        one_line = re.search(r"^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+\S+\s+main", text, re.M)
        if one_line and "security" not in one_line.group(1):
            return one_line.group(1)
    raise LocalCloudError(
        "no Debian mirror found in /etc/apt/sources.list(.d): the image build takes its packages "
        "from the mirror apt uses. Configure apt first."
    )


def exists(podman: Podman) -> bool:
    return podman.image_exists(image_ref())


def build(podman: Podman, work: Path, force: bool = False, say=print) -> str:
    """Build the image unless it exists; return its reference."""
    ref = image_ref()
    if not force and podman.image_exists(ref):
        say(f"Image {ref} is already built.")
        return ref
    if shutil.which("debootstrap") is None:
        raise LocalCloudError("debootstrap is not installed: run 'make setup' (it installs it with apt-get).")
    mirror = debian_mirror()
    work.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(dir=work, prefix="rootfs-") as tmp:
        root = Path(tmp) / "root"
        say(f"Building {ref} from Debian {SUITE} with debootstrap (about a minute)...")
        result = subprocess.run(
            ["debootstrap", "--variant=minbase", f"--include={','.join(PACKAGES)}", SUITE, str(root), mirror],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            log = work / "debootstrap.log"
            log.write_text(result.stdout + result.stderr)
            raise LocalCloudError(f"debootstrap failed (exit {result.returncode}); its output is in {log}")
        _configure(root)
        say("Importing the root file system into podman...")
        tar = subprocess.Popen(["tar", "-C", str(root), "-c", "."], stdout=subprocess.PIPE)
        imported = subprocess.run(
            ["podman", "import", "--change", 'CMD ["/sbin/init"]', "-", ref],
            stdin=tar.stdout,
            capture_output=True,
            env=podman.env(),
            check=False,
        )
        tar.stdout.close()  # so tar sees a closed pipe if podman stopped reading
        tar.wait()
        if imported.returncode != 0 or tar.returncode != 0:
            detail = imported.stderr.decode(errors="replace").strip() or f"tar exited {tar.returncode}"
            raise LocalCloudError(f"podman import failed: {detail}")
    say(f"Built {ref} in {time.monotonic() - started:.0f} s.")
    prune(podman, keep=ref)
    return ref


def prune(podman: Podman, keep: str) -> None:
    """Remove images of earlier recipes (about 500 MB each) that no container uses."""
    listed = podman.run("images", "--format", "{{.Repository}}:{{.Tag}}", config.IMAGE_NAME, check=False)
    for old in sorted(set(listed.split()) - {keep}):
        podman.run("rmi", old, check=False)


def _configure(root: Path) -> None:
    (root / "etc/cloud/cloud.cfg.d/90-localcloud.cfg").write_text(CLOUD_CFG)
    (root / "usr/lib/python3/dist-packages/cloudinit/sources/DataSourceLocalCloud.py").write_text(DATASOURCE)
    for key in (root / "etc/ssh").glob("ssh_host_*"):
        key.unlink()  # cloud-init makes new host keys for every instance
    (root / "etc/machine-id").write_text("")
    (root / "etc/apt/sources.list").write_text(SOURCES_NOTE)
    for leftover in (root / "var/cache/apt/archives").glob("*.deb"):
        leftover.unlink()
    for lists in (root / "var/lib/apt/lists").glob("*_*"):
        lists.unlink()
    (root / "etc/localcloud-release").write_text(f"localcloud instance image {recipe_hash()}\n")
