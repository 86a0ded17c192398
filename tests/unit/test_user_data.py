"""The instance's user data, rendered for each AMI family as the deployment role renders it, and
checked by bash itself: the order of the first boot's steps matters on a real account."""

from __future__ import annotations

import subprocess
from pathlib import Path

import jinja2
import pytest
import yaml

ROLE = Path(__file__).resolve().parents[2] / "roles/deployment"
FAMILIES = yaml.safe_load((ROLE / "vars/main.yml").read_text())["__deployment_ami_families"]


def render(family: str, https: bool = True, capacity: int = 0) -> str:
    # A shell script, not HTML: Ansible renders templates without autoescape too.
    environment = jinja2.Environment(  # noqa: S701
        undefined=jinja2.StrictUndefined, trim_blocks=True, keep_trailing_newline=True
    )
    environment.filters["bool"] = bool
    environment.filters["int"] = int
    template = environment.from_string((ROLE / "templates/user_data.sh.j2").read_text())
    return template.render(
        deployment_name="demo", deployment_https=https, __deployment_family=FAMILIES[family],
        deployment_capacity=capacity, _deployment_image_public_url="https://b.s3.amazonaws.com/public/image",
        _deployment_names={"group": "demo-web"},
    )  # fmt: skip


@pytest.mark.parametrize("family", sorted(FAMILIES))
@pytest.mark.parametrize("https", [True, False])
def test_the_user_data_is_valid_bash(family, https, tmp_path):
    script = tmp_path / "user-data.sh"
    script.write_text(render(family, https))
    checked = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True, check=False)
    assert checked.returncode == 0, checked.stderr


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_host_keys_then_swap_then_the_upgrade(family):
    script = render(family)
    keys = script.index("cat /etc/ssh/ssh_host_*_key.pub")
    swap = script.index("mkswap /swapfile")
    upgrade = script.index("dnf -y upgrade" if FAMILIES[family]["os_family"] == "RedHat" else "apt_get -y -o")
    assert keys < swap < upgrade
    assert script.index("-----BEGIN SSH HOST KEY KEYS-----") < keys < script.index("-----END SSH HOST KEY KEYS-----")
    # Only small instances get the swap file, and a boot that cannot have one goes on.
    assert "-lt 1048576" in script and 'echo "no swap file: going on without one"' in script


def test_amazon_linux_upgrades_to_the_latest_release_not_only_the_ami_s_own():
    """AL2023's repositories are locked to the AMI's release: the upgrade names --releasever=latest."""
    assert "dnf -y upgrade --refresh --releasever=latest" in render("al2023")


@pytest.mark.parametrize("family", ["debian", "ubuntu"])
def test_every_apt_call_waits_for_the_dpkg_lock(family):
    script = render(family)
    assert "apt_get() { apt-get -o DPkg::Lock::Timeout=600" in script
    calls = [line.strip() for line in script.splitlines() if "apt-get" in line and not line.strip().startswith("#")]
    assert calls == ['apt_get() { apt-get -o DPkg::Lock::Timeout=600 "$@"; }']


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_https_makes_the_certificate_the_role_reads(family):
    script = render(family)
    assert f"cert={FAMILIES[family]['https_certificate']}" in script and "openssl req -x509" in script
    assert "openssl" not in render(family, https=False)


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_group_instances_render_their_page_at_boot_from_imdsv2(family, tmp_path):
    script = render(family, https=False, capacity=2)
    (tmp_path / "user-data.sh").write_text(script)
    checked = subprocess.run(
        ["bash", "-n", str(tmp_path / "user-data.sh")], capture_output=True, text=True, check=False
    )
    assert checked.returncode == 0, checked.stderr
    page = script[script.index("cat > /var/www/html/index.html") :]
    assert 'id="s3-image" src="https://b.s3.amazonaws.com/public/image"' in page
    assert "X-aws-ec2-metadata-token" in script and "$(meta instance-id)" in page
    assert script.index("systemctl enable") < script.index("index.html"), "Apache is installed before its page"
    assert "index.html" not in render(family, https=False), "one instance: the webserver role renders the page"
