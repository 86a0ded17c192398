"""CPU credits of burstable instances (T2, T3, T3a, T4g), acted out on the instances' containers.

As the EC2 User Guide's "Burstable performance instances" describes them:
- an instance earns credits at its type's rate (CREDITS_PER_HOUR), up to 24 hours' worth, and
  spends one for each vCPU-minute of CPU time (measured: the container's cgroup);
- it launches with no credits (T3, T3a, T4g) or with 30 launch credits per vCPU (T2, standard);
- in standard mode, once the balance is spent, it is held to its baseline (the rate's share of
  its vCPUs: 5 % of each of a t3.nano's two) through its container's CPU quota, until it has
  earned credits again;
- in unlimited mode it is never held: CPU time beyond the balance counts as surplus credits
  (billed by AWS; here only counted), repaid from what it earns later;
- ModifyInstanceCreditSpecification (moto lacks it) switches the mode; the balance carries over.

Every metrics interval each running burstable instance's CPUCreditUsage, CPUCreditBalance,
CPUSurplusCreditBalance and CPUSurplusCreditsCharged go to CloudWatch (AWS/EC2, InstanceId), as
EC2 publishes them every five minutes.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Credits earned per hour, from the EC2 User Guide's "Key concepts" table of burstable types;
# one credit is one vCPU at 100 % for a minute, so the baseline is rate / 60 vCPUs.
CREDITS_PER_HOUR = {
    "nano": 6, "micro": 12, "small": 24, "medium": 24, "large": 36, "xlarge": 96, "2xlarge": 192,
}  # fmt: skip
T2_CREDITS_PER_HOUR = {"nano": 3, "micro": 6, "small": 12, "medium": 24, "large": 36, "xlarge": 54, "2xlarge": 81}
VCPUS = {"nano": 2, "micro": 2, "small": 2, "medium": 2, "large": 2, "xlarge": 4, "2xlarge": 8}
T2_VCPUS = {"nano": 1, "micro": 1, "small": 1, "medium": 2, "large": 2, "xlarge": 4, "2xlarge": 8}
T2_LAUNCH_CREDITS_PER_VCPU = 30
# A held instance is let go once it has earned this many credits (a minute of one vCPU), so it
# does not flap around an empty balance.
RELEASE_AT = 1.0
CFS_PERIOD_US = 100_000


def burstable(instance_type: str) -> bool:
    return instance_type.split(".")[0] in ("t2", "t3", "t3a", "t4g")


@dataclass(frozen=True)
class CreditType:
    vcpus: int
    per_hour: float

    @property
    def baseline_vcpus(self) -> float:
        """The CPU an instance with no credits may use, in vCPUs (t3.nano: 0.1 of its 2)."""
        return self.per_hour / 60.0

    @property
    def maximum(self) -> float:
        return self.per_hour * 24


def credit_type(instance_type: str) -> CreditType:
    family, _, size = instance_type.partition(".")
    if family == "t2":
        return CreditType(T2_VCPUS.get(size, 1), T2_CREDITS_PER_HOUR.get(size, 3))
    return CreditType(VCPUS.get(size, 2), CREDITS_PER_HOUR.get(size, 6))


@dataclass
class Account:
    """One instance's credits."""

    balance: float
    surplus: float = 0.0
    held: bool = False
    charged: float = 0.0


def launch_balance(instance_type: str, mode: str) -> float:
    """Credits at launch: T2 in standard mode gets 30 a vCPU, every other type none."""
    if instance_type.startswith("t2.") and mode == "standard":
        return float(T2_LAUNCH_CREDITS_PER_VCPU * credit_type(instance_type).vcpus)
    return 0.0


def settle(account: Account, kind: CreditType, mode: str, used_vcpu_seconds: float, elapsed: float) -> float:
    """One interval: credits earned and spent; whether the instance must be held. Returns the credits spent."""
    earned = kind.per_hour * elapsed / 3600.0
    spent = used_vcpu_seconds / 60.0
    account.balance += earned
    if account.surplus > 0:  # earned credits repay surplus first
        repaid = min(account.surplus, account.balance)
        account.surplus -= repaid
        account.balance -= repaid
    if spent <= account.balance:
        account.balance -= spent
    else:
        beyond = spent - account.balance
        account.balance = 0.0
        if mode == "unlimited":
            account.surplus += beyond
            account.charged += beyond
    account.balance = min(account.balance, kind.maximum)
    if mode == "standard":
        account.held = account.balance <= 0.0 or (account.held and account.balance < RELEASE_AT)
    else:
        account.held = False
    return spent


def cpu_quota_file(cgroup_path: str) -> Path | None:
    """The container's CFS quota (cgroup v1's cpu controller, or v2's cpu.max)."""
    v1 = Path("/sys/fs/cgroup/cpu") / cgroup_path.lstrip("/") / "cpu.cfs_quota_us"
    if v1.exists():
        return v1
    v2 = Path("/sys/fs/cgroup") / cgroup_path.lstrip("/") / "cpu.max"
    return v2 if v2.exists() else None


def hold(cgroup_path: str, vcpus: float | None) -> bool:
    """Limit the container to `vcpus` of CPU (None: no limit). False when its cgroup has no quota to set."""
    quota = cpu_quota_file(cgroup_path)
    if quota is None:
        return False
    if quota.name == "cpu.max":
        quota.write_text("max\n" if vcpus is None else f"{int(vcpus * CFS_PERIOD_US)} {CFS_PERIOD_US}\n")
    else:
        period = quota.with_name("cpu.cfs_period_us")
        if vcpus is not None:
            period.write_text(f"{CFS_PERIOD_US}\n")
        quota.write_text("-1\n" if vcpus is None else f"{int(vcpus * CFS_PERIOD_US)}\n")
    return True


class Credits:
    """Every burstable instance's credit account, kept by the metrics publisher's samples."""

    def __init__(self, log: Any, cgroup_of: Any = None) -> None:
        self.log = log
        self.cgroup_of = cgroup_of  # instance id -> its container's cgroup path ('' when none)
        self.lock = threading.Lock()
        self.accounts: dict[str, Account] = {}

    def sample(self, instance: Any, cgroup_path: str, cpu_seconds_used: float, elapsed: float) -> list[dict]:
        """Settle one interval of `instance` and hold or release its container; its credit datapoints."""
        if not burstable(instance.instance_type):
            return []
        kind = credit_type(instance.instance_type)
        mode = getattr(instance, "cpu_credits", "standard")
        with self.lock:
            account = self.accounts.setdefault(instance.id, Account(launch_balance(instance.instance_type, mode)))
            was_held = account.held
            spent = settle(account, kind, mode, cpu_seconds_used, elapsed)
        changed = account.held != was_held and cgroup_path
        if changed and hold(cgroup_path, kind.baseline_vcpus if account.held else None):
            what = f"held to its baseline ({kind.baseline_vcpus:g} vCPU)" if account.held else "released"
            self.log(f"credits: {instance.id} ({instance.instance_type}, {mode}) {what}")
        return [
            {"MetricName": "CPUCreditUsage", "Value": round(spent, 4), "Unit": "Count"},
            {"MetricName": "CPUCreditBalance", "Value": round(account.balance, 4), "Unit": "Count"},
            {"MetricName": "CPUSurplusCreditBalance", "Value": round(account.surplus, 4), "Unit": "Count"},
            {"MetricName": "CPUSurplusCreditsCharged", "Value": round(account.charged, 4), "Unit": "Count"},
        ]

    def switched(self, instance: Any, mode: str) -> None:
        """ModifyInstanceCreditSpecification: the balance carries over; unlimited lets a held instance go."""
        with self.lock:
            account = self.accounts.get(instance.id)
            if account is None or not account.held or mode != "unlimited":
                return
            account.held = False
        cgroup_path = self.cgroup_of(instance.id) if self.cgroup_of else ""
        if cgroup_path and hold(cgroup_path, None):
            self.log(f"credits: {instance.id} unlimited now, released")

    def forget(self, instance_id: str) -> None:
        with self.lock:
            self.accounts.pop(instance_id, None)


def install_modify_credit_specification(on_change: Any = None) -> None:
    """ModifyInstanceCreditSpecification (moto lacks it): each instance's mode, which
    DescribeInstanceCreditSpecifications answers; `on_change(instance, mode)` after each."""
    from moto.core.responses import ActionResult
    from moto.ec2.responses.instances import InstanceResponse

    def modify_instance_credit_specification(self: Any) -> ActionResult:
        self.error_on_dryrun()
        done, failed = [], []
        for spec in self._get_param("InstanceCreditSpecifications", []) or []:
            instance_id, mode = spec.get("InstanceId", ""), spec.get("CpuCredits", "")
            try:
                instance = self.ec2_backend.get_instance(instance_id)
            except Exception:  # noqa: BLE001 - moto's InvalidInstanceID: reported per instance, as AWS does
                message = f"The instance ID '{instance_id}' does not exist"
                failed.append(
                    {"InstanceId": instance_id, "Error": {"Code": "InvalidInstanceID.NotFound", "Message": message}}
                )
                continue
            if not burstable(instance.instance_type) or mode not in ("standard", "unlimited"):
                message = f"{mode!r} is not a credit option for {instance.instance_type}"
                failed.append(
                    {"InstanceId": instance_id, "Error": {"Code": "InvalidParameterValue", "Message": message}}
                )
                continue
            instance.cpu_credits = mode
            if on_change is not None:
                on_change(instance, mode)
            done.append({"InstanceId": instance_id})
        return ActionResult({"SuccessfulInstanceCreditSpecifications": done,
                             "UnsuccessfulInstanceCreditSpecifications": failed})  # fmt: skip

    InstanceResponse.modify_instance_credit_specification = modify_instance_credit_specification
