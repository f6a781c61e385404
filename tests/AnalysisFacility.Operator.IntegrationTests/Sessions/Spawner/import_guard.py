"""Import guard for the spawner's tests: the spawner module may import the standard library and the packages of
the hub image (k8s-hub-3.3.8-packages.txt), nothing else. Any other import made by the spawner module itself,
at load time or later inside a function, raises ImportError naming the module, so a test fails as the hub would.

Used two ways:
    import import_guard; import_guard.install(PACKAGES_FILE, SPAWNER_FILE)       # from a test harness
    python3 import_guard.py PACKAGES_FILE SPAWNER_FILE [spawner arguments...]     # runs the spawner as a script

Imports made by other modules (jupyterhub's own, the harness's) are not checked: Debian's jupyterhub 3.0 is not
the image's 4.1, and what it needs says nothing about the image.
"""

import builtins
import importlib
import importlib.metadata
import os
import re
import runpy
import sys


def _normalise(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def image_distributions(packages_file):
    names = set()
    with open(packages_file) as handle:
        for line in handle:
            line = line.split("#", 1)[0].strip()
            if line:
                names.add(_normalise(re.split(r"[=<>!\[ ;]", line, maxsplit=1)[0]))
    return names


def allowed_modules(packages_file):
    """Top-level module names that belong to the image's distributions (as installed here, plus the usual name)."""
    distributions = image_distributions(packages_file)
    allowed = {name.replace("-", "_") for name in distributions}
    for module, owners in importlib.metadata.packages_distributions().items():
        if any(_normalise(owner) in distributions for owner in owners):
            allowed.add(module)
    return allowed


def install(packages_file, spawner_file):
    allowed = allowed_modules(packages_file)
    stdlib = set(sys.stdlib_module_names)
    guarded = os.path.realpath(spawner_file)
    own = os.path.splitext(os.path.basename(guarded))[0]

    def check(name, importer_globals):
        source = (importer_globals or {}).get("__file__")
        if not source or os.path.realpath(source) != guarded:
            return
        top = name.split(".")[0]
        if top and top not in stdlib and top not in allowed and top != own:
            raise ImportError(
                f"the spawner imports '{name}', which the hub image quay.io/jupyterhub/k8s-hub:3.3.8 does not ship "
                f"(allowed: the standard library and {os.path.basename(packages_file)})", name=name)

    original_import = builtins.__import__
    original_import_module = importlib.import_module

    def guarded_import(name, globals=None, locals=None, fromlist=(), level=0):
        if level == 0:
            check(name, globals)
        return original_import(name, globals, locals, fromlist, level)

    def guarded_import_module(name, package=None):
        if not name.startswith("."):
            check(name, sys._getframe(1).f_globals)
        return original_import_module(name, package)

    builtins.__import__ = guarded_import
    importlib.import_module = guarded_import_module


def main():
    packages_file, spawner_file = sys.argv[1], sys.argv[2]
    install(packages_file, spawner_file)
    sys.argv = [spawner_file] + sys.argv[3:]
    sys.path.insert(0, os.path.dirname(os.path.realpath(spawner_file)))
    runpy.run_path(spawner_file, run_name="__main__")


if __name__ == "__main__":
    main()
