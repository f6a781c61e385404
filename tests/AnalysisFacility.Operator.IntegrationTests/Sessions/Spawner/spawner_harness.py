"""Drives the chart's UserSessionSpawner as the hub does, with the real jupyterhub (Debian's 3.0), under the import
guard, configured by a GENERATED jupyterhub_config.py.

    python3 spawner_harness.py PACKAGES SPAWNER CONFIG check-config
        Loads CONFIG like the hub and reports every c.<Class>.<trait> whose class does not define that trait.
    python3 spawner_harness.py PACKAGES SPAWNER CONFIG run SCENARIO_JSON
        Runs the scenario's steps on a spawner for one user; prints one JSON line per step.

Scenario: {"user": NAME, "auth_state": {...} | null, "user_options": {...}, "overrides": {trait: value},
           "steps": ["start", "poll", "get_state", "restart", "stop", ...], "state": {...}}
"restart" drops the spawner and makes a new one from the saved state (load_state), as a restarted hub does.
"""

import asyncio
import json
import os
import sys

HERE = os.path.dirname(os.path.realpath(__file__))
sys.path.insert(0, HERE)
import import_guard  # noqa: E402


def load(packages, spawner_file, config_file):
    import_guard.install(packages, spawner_file)
    sys.path.insert(0, os.path.dirname(os.path.realpath(spawner_file)))
    import analysisfacility_spawner as module
    from traitlets.config.loader import PyFileConfigLoader
    config = PyFileConfigLoader(os.path.basename(config_file), path=os.path.dirname(config_file)).load_config()
    return module, config


def configurable_classes(module):
    """Every Configurable class the hub knows by name: jupyterhub's own and the spawner module's."""
    import jupyterhub.app  # noqa: F401  (imports auth, proxy, spawner, crypto, services)
    from traitlets.config import Configurable
    classes, pending = {}, [Configurable]
    while pending:
        cls = pending.pop()
        for sub in cls.__subclasses__():
            classes.setdefault(sub.__name__, sub)
            pending.append(sub)
    return classes


def check_config(module, config):
    classes = configurable_classes(module)
    report = {"unknown_classes": [], "unknown_traits": [], "checked": [], "invalid": []}
    for section in sorted(config.keys()):
        cls = classes.get(section)
        if cls is None:
            report["unknown_classes"].append(section)
            continue
        traits = cls.class_traits(config=True)
        for name in sorted(config[section].keys()):
            if name in traits:
                report["checked"].append(f"{section}.{name}")
            else:
                report["unknown_traits"].append(f"{section}.{name}")
        try:
            # Instantiating loads the section into the traits: a value of the wrong type raises here
            # (for JupyterHub, the application object: nothing starts before initialize()).
            cls(config=config)
        except Exception as error:
            report["invalid"].append(f"{section}: {type(error).__name__}: {error}")
    print(json.dumps(report))


class HarnessUser:
    """What a spawner sees of jupyterhub.user.User."""

    def __init__(self, name, auth_state):
        self.name = name
        self.escaped_name = name
        self.url = f"/user/{name}/"
        self._auth_state = auth_state

    async def get_auth_state(self):
        return self._auth_state


def make_spawner(module, config, scenario, state=None):
    from jupyterhub.objects import Hub
    hub = Hub(ip="127.0.0.1", port=8081, base_url="/hub/")
    spawner = module.UserSessionSpawner(config=config, user=HarnessUser(scenario["user"], scenario.get("auth_state")),
                                        hub=hub, api_token="harness-api-token", oauth_client_id="jupyterhub-user-" + scenario["user"])
    for trait, value in (scenario.get("overrides") or {}).items():
        setattr(spawner, trait, value)
    spawner.user_options = scenario.get("user_options") or {}
    if state is not None:
        spawner.load_state(state)
    return spawner


async def run(module, config, scenario):
    # A saved state starts the run as a restarted hub: load_state, then whatever the steps ask.
    state = scenario.get("state") or {}
    spawner = make_spawner(module, config, scenario, scenario.get("state"))
    for step in scenario["steps"]:
        out = {"step": step}
        try:
            if step == "start":
                out["result"] = await asyncio.wait_for(spawner.start(), spawner.start_timeout)
            elif step == "poll":
                out["result"] = await spawner.poll()
            elif step == "get_state":
                state = spawner.get_state()
                out["result"] = state
            elif step == "restart":
                spawner = make_spawner(module, config, scenario, state)
                out["result"] = spawner.session_name
            elif step == "stop":
                await spawner.stop()
                spawner.clear_state()
                out["result"] = None
            elif step == "traits":
                out["result"] = {name: getattr(spawner, name) for name in
                                 ("facility_name", "facility_namespace", "profile_list", "groups_claim", "api_url")}
            else:
                raise ValueError(f"unknown step {step}")
        except Exception as error:
            out["error"] = f"{type(error).__name__}: {error}"
        print(json.dumps(out), flush=True)


def main():
    packages, spawner_file, config_file, mode = sys.argv[1:5]
    module, config = load(packages, spawner_file, config_file)
    if mode == "check-config":
        check_config(module, config)
    elif mode == "run":
        with open(sys.argv[5]) as handle:
            scenario = json.load(handle)
        asyncio.run(run(module, config, scenario))
    else:
        raise SystemExit(f"unknown mode {mode}")


if __name__ == "__main__":
    main()
