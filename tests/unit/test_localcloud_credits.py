"""The local cloud's CPU credit model (localcloud/cpu_credits.py), without containers: what a burstable
instance earns and spends, when standard mode holds it to its baseline, and the mode switch."""

from __future__ import annotations

import pytest

from localcloud import cpu_credits
from localcloud.cpu_credits import Account, credit_type, launch_balance, settle


@pytest.mark.parametrize(
    ("instance_type", "vcpus", "per_hour", "baseline"),
    [("t3.nano", 2, 6, 0.1), ("t3.micro", 2, 12, 0.2), ("t4g.small", 2, 24, 0.4), ("t2.micro", 1, 6, 0.1)],
)
def test_types_earn_at_the_user_guide_s_rates(instance_type, vcpus, per_hour, baseline):
    kind = credit_type(instance_type)
    assert (kind.vcpus, kind.per_hour, kind.maximum) == (vcpus, per_hour, per_hour * 24)
    assert kind.baseline_vcpus == pytest.approx(baseline)
    assert cpu_credits.burstable(instance_type) and not cpu_credits.burstable("m5.large")


def test_only_t2_in_standard_mode_launches_with_credits():
    assert launch_balance("t2.micro", "standard") == 30
    assert launch_balance("t2.micro", "unlimited") == 0
    assert launch_balance("t3.nano", "standard") == 0


def test_a_standard_instance_without_credits_is_held_until_it_earns_a_credit():
    kind, account = credit_type("t3.nano"), Account(balance=0.0)
    settle(account, kind, "standard", used_vcpu_seconds=120.0, elapsed=60.0)  # both vCPUs busy for a minute
    assert account.held and account.balance == 0
    settle(account, kind, "standard", used_vcpu_seconds=6.0, elapsed=60.0)  # at its baseline: earns what it spends
    assert account.held
    settle(account, kind, "standard", used_vcpu_seconds=0.0, elapsed=600.0)  # ten idle minutes: one credit
    assert not account.held and account.balance == pytest.approx(1.0)


def test_an_unlimited_instance_is_never_held_and_counts_its_surplus():
    kind, account = credit_type("t3.nano"), Account(balance=0.0)
    spent = settle(account, kind, "unlimited", used_vcpu_seconds=120.0, elapsed=60.0)
    assert spent == 2.0 and not account.held
    assert account.surplus == pytest.approx(2.0 - 0.1) and account.charged == pytest.approx(1.9)
    settle(account, kind, "unlimited", used_vcpu_seconds=0.0, elapsed=3600.0)  # an idle hour repays it
    assert account.surplus == 0 and account.balance == pytest.approx(6.0 - 1.9)


def test_switching_to_unlimited_lets_a_held_instance_go():
    released = []
    keeper = cpu_credits.Credits(log=lambda _: None, cgroup_of=lambda _: "")
    keeper.accounts["i-1"] = Account(balance=0.0, held=True)

    class Instance:
        id, instance_type = "i-1", "t3.nano"

    keeper.switched(Instance(), "standard")
    assert keeper.accounts["i-1"].held
    keeper.switched(Instance(), "unlimited")
    assert not keeper.accounts["i-1"].held and not released
