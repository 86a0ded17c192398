"""The settings check's plugins: type and choice checks against the roles' argument specs
(roles/deployment/filter_plugins/settings.py), misspelt names, and the lookup that reads each setting on its own."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest
import yaml
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template

ROOT = Path(__file__).resolve().parents[2]
ROLES = ("deployment", "webserver", "monitoring", "interactive")


def load(name: str, path: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


settings = load("settings", "roles/deployment/filter_plugins/settings.py")
checks = load("input_rules", "roles/deployment/filter_plugins/input_rules.py")
lookup = load("deployment_settings", "roles/deployment/lookup_plugins/deployment_settings.py")

OPTIONS = settings.settings_options(
    yaml.safe_load((ROOT / "roles" / role / "meta/argument_specs.yml").read_text()) for role in ROLES
)
SWITCHES = {
    "confirm": "deployment_teardown_confirm",
    "keep_key": "deployment_keep_key",
    "interactive": "interactive_enabled",
}


def problems(values: dict, switches: dict | None = None) -> list[str]:
    return settings.settings_problems(values, OPTIONS, switches or {})


def test_the_options_of_all_roles_and_entry_points_are_merged():
    assert {"deployment_name", "deployment_keep_key", "webserver_page_title", "monitoring_window_minutes"} <= set(
        OPTIONS
    )
    assert OPTIONS["deployment_idle_minutes"]["type"] == "int"


def test_every_option_has_a_type_the_check_knows():
    kinds = {spec.get("type", "str") for spec in OPTIONS.values()}
    assert kinds <= {"str", "path", "bool", "int", "float", "list", "dict"}, kinds


def test_the_defaults_pass_every_check():
    """A default the check refused would stop every run; templated defaults are resolved by hand."""
    defaults = {}
    for role in ROLES:
        defaults.update(yaml.safe_load((ROOT / "roles" / role / "defaults/main.yml").read_text()) or {})
    defaults["deployment_image_key"] = "public/image"
    plain = {name: value for name, value in defaults.items() if "{{" not in str(value)}
    assert len(plain) > 30
    assert problems(plain) == []
    assert checks.deployment_settings_problems(settings.settings_valid(plain, OPTIONS)) == []


@pytest.mark.parametrize(
    ("name", "value", "converted"),
    [
        ("deployment_https", "yes", True),
        ("deployment_https", "False", False),
        ("deployment_https", 1, True),
        ("deployment_idle_minutes", "30", 30),
        ("deployment_idle_minutes", 30.0, 30),
        ("deployment_idle_cpu_threshold", "2.5", 2.5),
        ("deployment_idle_cpu_threshold", "101", 101),
        ("deployment_name", 42, "42"),
        ("deployment_tags", {"team": "web"}, {"team": "web"}),
        ("deployment_high_cpu_actions", ["notify"], ["notify"]),
    ],
)
def test_values_that_fit_are_converted_to_their_type(name, value, converted):
    assert problems({name: value}) == []
    result = settings.settings_valid({name: value}, OPTIONS)[name]
    assert result == converted and type(result) is type(converted)


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("deployment_https", "ture", 'deployment_https="ture" is not valid: it must be true or false.'),
        ("deployment_https", 2, "it must be true or false"),
        ("deployment_idle_minutes", "an hour", "it must be a whole number"),
        ("deployment_idle_minutes", "7.5", "it must be a whole number"),
        ("deployment_idle_minutes", True, "it must be a whole number"),
        ("deployment_idle_cpu_threshold", "nan", "it must be a number"),
        ("deployment_idle_cpu_threshold", "inf", "it must be a number"),
        ("deployment_tags", "team=web", """it must be a mapping; give it as JSON, e.g. -e '{"deployment_tags": {"""),
        ("deployment_high_cpu_actions", "notify", """it must be a list; give it as JSON, e.g. -e '{"deployment_high"""),
        ("deployment_name", ["a", "b"], "it must be a single value, not a list or a mapping"),
        ("deployment_name", True, "it must be text, not true or false; put it in quotes"),
        ("deployment_name", None, "it has no value (null)"),
        ("deployment_ami_family", "windows", '"windows" is not one of'),
        ("deployment_high_cpu_actions", ["notify", "page"], '"page" is not one of'),
    ],
)
def test_values_that_do_not_fit_are_explained(name, value, says):
    found = problems({name: value})
    assert len(found) == 1 and says in found[0], found
    assert name not in settings.settings_valid({name: value}, OPTIONS)


def test_a_secret_is_never_shown():
    found = problems({"deployment_secret_key": ["not", "a", "string"]})
    assert found == ["deployment_secret_key=(hidden) is not valid: it must be a single value, not a list or a mapping."]


def test_a_switch_is_held_to_the_option_it_sets():
    assert problems({"keep_key": "ture"}, SWITCHES) == ['keep_key="ture" is not valid: it must be true or false.']
    assert problems({"keep_key": "yes", "confirm": "no"}, SWITCHES) == []
    assert problems({"interactive": "maybe"}, SWITCHES) == [
        'interactive="maybe" is not valid: it must be true or false.'
    ]


def test_an_option_set_by_a_switch_is_reported_once_as_the_switch():
    switches = {"period": "monitoring_period"}
    values = {"period": "sixty", "monitoring_period": "sixty"}
    assert problems(values, switches) == ['period="sixty" is not valid: it must be a whole number.']
    assert problems({"monitoring_period": "sixty"}, switches) == [
        'monitoring_period="sixty" is not valid: it must be a whole number.'
    ]


def test_non_ascii_is_shown_as_typed():
    assert '"wébserver"' in checks.deployment_settings_problems({"deployment_name": "wébserver"})[0]


SETTING = "{} is not a setting of this project: did you mean {}?"
UNKNOWN = "{} is not a setting of this project: the README's settings tables list every setting."
SWITCH = "{} is not a switch of this playbook: did you mean {}?"


@pytest.mark.parametrize(
    ("names", "says"),
    [
        (["deployment_instance_typ"], [SETTING.format("deployment_instance_typ", "deployment_instance_type")]),
        (["monitoring_windows_minutes"], [SETTING.format("monitoring_windows_minutes", "monitoring_window_minutes")]),
        (["webserver_colour_scheme"], [UNKNOWN.format("webserver_colour_scheme")]),
        (["deployment_window_minutes"], [SETTING.format("deployment_window_minutes", "monitoring_window_minutes")]),
        (["deployment_nmae"], [SETTING.format("deployment_nmae", "deployment_name")]),
        (["keep_kye"], [SWITCH.format("keep_kye", "keep_key")]),
        (["interactiv", "confrim"], [SWITCH.format("confrim", "confirm"), SWITCH.format("interactiv", "interactive")]),
        # Not ours: Ansible's, the local cloud's inventory, the roles' internals and computed facts.
        (["ansible_user", "localcloud_endpoint", "_deployment_settings", "_deployment_instance", "keep"], []),
        (["deployment_name", "keep_key", "confirm"], []),
    ],
)  # fmt: skip
def test_misspelt_names_are_found(names, says):
    assert settings.settings_unknown(names, OPTIONS, SWITCHES) == says


def test_the_filters_are_registered():
    assert set(settings.FilterModule().filters()) == {
        "settings_options",
        "settings_problems",
        "settings_valid",
        "settings_unknown",
    }


def read(variables: dict, *names: str) -> dict:
    loader = DataLoader()
    plugin = lookup.LookupModule(loader=loader, templar=Templar(loader=loader, variables=variables))
    return plugin.run(list(names), variables=variables)[0]


def test_the_lookup_resolves_each_setting_on_its_own_and_names_the_unreadable_ones():
    # Values given with -e are templates to Ansible: trusted, so they are evaluated.
    variables = {
        "deployment_name": "web",
        "deployment_key_name": trust_as_template("{{ deployment_name }}-key"),
        "deployment_tags": {"team": trust_as_template("{{ nothing_here }}")},
        "deployment_image_url": trust_as_template("{{ broken"),
        "deployment_high_cpu_actions": [trust_as_template("{{ 'notify' }}")],
    }
    found = read(variables, *variables, "deployment_not_set")
    assert found["values"] == {
        "deployment_name": "web",
        "deployment_key_name": "web-key",
        "deployment_high_cpu_actions": ["notify"],
    }
    assert set(found["unreadable"]) == {"deployment_tags", "deployment_image_url"}
    assert found["problems"][0] == "deployment_tags cannot be read: 'nothing_here' is undefined."
    assert re.match(r"deployment_image_url cannot be read: .*end of template", found["problems"][1])
    assert "deployment_not_set" not in found["values"]


def test_the_values_read_are_plain_data_that_are_not_templated_again():
    found = read({"deployment_tags": {"a": trust_as_template("{{ '{{ x }}' }}")}}, "deployment_tags")
    value = found["values"]["deployment_tags"]["a"]
    assert value == "{{ x }}" and type(value) is str


@pytest.mark.parametrize("role", ROLES)
def test_each_default_is_the_same_in_the_spec_and_in_defaults(role):
    """Ansible applies defaults/main.yml; the spec's defaults only document (and ansible-doc shows them).
    They must say the same, and every default must be a declared option."""
    defaults = yaml.safe_load((ROOT / "roles" / role / "defaults/main.yml").read_text()) or {}
    specs = yaml.safe_load((ROOT / "roles" / role / "meta/argument_specs.yml").read_text())["argument_specs"]
    declared = {name: option for spec in specs.values() for name, option in (spec.get("options") or {}).items()}
    assert set(defaults) <= set(declared), sorted(set(defaults) - set(declared))
    differ = {
        name: (value, declared[name].get("default"))
        for name, value in defaults.items()
        if "default" in declared[name] and declared[name]["default"] != value
    }
    assert differ == {}
