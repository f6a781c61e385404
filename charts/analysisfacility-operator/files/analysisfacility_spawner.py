"""JupyterHub spawner for the AnalysisFacility operator.

The hub does not start notebook pods itself: it creates a UserSession custom resource and the operator makes
everything a session needs (token Secret, notebook pod with the user's store directory, client configuration,
Dask cluster, NetworkPolicy). The spawner waits for the session's Ready condition and hands the hub the server
URL the operator publishes in status.serverUrl. Stopping the server deletes the UserSession; Kubernetes garbage
collection removes what it owned (never store data).

Hub configuration (the facility controller writes it):

    c.JupyterHub.spawner_class = "analysisfacility_spawner.UserSessionSpawner"
    c.UserSessionSpawner.facility = "cms-af"
    c.UserSessionSpawner.namespace = "cms-af"          # default: the hub pod's namespace
    c.UserSessionSpawner.profiles = [{"name": "default", "display_name": "2 cores, 4 GiB"}]
    c.JupyterHub.hub_connect_url = "http://hub.cms-af.svc:8081"   # how notebook pods reach the hub

Works with JupyterHub 3.x and the kubernetes Python client (in-cluster service account, or a kubeconfig file
given by `kubeconfig` / $KUBECONFIG).

`python3 analysisfacility_spawner.py --dry-run --user NAME --facility F --namespace NS` prints the objects the
spawner would create, without contacting anything.
"""

import argparse
import asyncio
import hashlib
import html
import json
import os
import re
import string
import sys
import time

from jupyterhub.spawner import Spawner
from kubernetes import client as k8s_client
from kubernetes import config as k8s_config
from kubernetes.client.rest import ApiException
from traitlets import Dict, Float, Integer, List, Unicode, default

GROUP = "analysisfacility.io"
VERSION = "v1alpha1"
PLURAL = "usersessions"
KIND = "UserSession"
API_VERSION = GROUP + "/" + VERSION

LABEL_USER = "analysisfacility.io/user"
LABEL_FACILITY = "analysisfacility.io/facility"
LABEL_MANAGED_BY = "app.kubernetes.io/managed-by"
ANNOTATION_USER = "analysisfacility.io/hub-user"

USER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,63}$")
WLCG_GROUP = re.compile(r"^/[A-Za-z0-9][A-Za-z0-9_.-]*(/[A-Za-z0-9][A-Za-z0-9_.-]*)*$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")

SERVICE_ACCOUNT_NAMESPACE = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"

# Progress shown on the spawn page once a condition is True, in the order the operator reaches them.
PROGRESS_STEPS = (("TokenIssued", 30), ("StorageMounted", 60), ("ServerReady", 90), ("Ready", 100))


def object_name(raw, max_length=52):
    """Same algorithm as the operator's Names.Join: a DNS label, with a hash of the input appended whenever
    the input had to be altered or shortened, so that different users never share a session."""
    allowed = string.ascii_lowercase + string.digits
    cleaned = "".join(c if c in allowed else "-" for c in raw.lower())
    text = re.sub("-+", "-", cleaned).strip("-")
    if text == raw and len(text) <= max_length:
        return text
    digest = hashlib.sha256(raw.encode("utf-8")).hexdigest()[:8]
    room = max_length - len(digest) - 1
    head = text[:room].rstrip("-") if len(text) > room else text
    return f"{head}-{digest}" if head else digest


def session_name(user_name):
    """Name of the UserSession of a hub user (SessionNames.ForUser in the operator)."""
    return object_name(user_name)


def hub_env_secret_name(name):
    return f"{name}-hub-env"


def label_value(value):
    """Same as the operator's Labels.SafeValue."""
    text = "".join(c if (c.isascii() and c.isalnum()) or c in "-_." else "-" for c in value).strip("-_.")
    if len(text) > 63:
        text = text[:63].rstrip("-_.")
    return text


def normalise_groups(groups):
    """WLCG groups as the UserSession schema wants them (/cms, /cms/higgs); others are left out."""
    result = []
    for group in groups or []:
        if not isinstance(group, str):
            continue
        candidate = group if group.startswith("/") else "/" + group
        if WLCG_GROUP.match(candidate) and candidate not in result:
            result.append(candidate)
    return result[:64]


def identity_from_auth_state(auth_state):
    """E-mail and groups from an authenticator's auth_state (OAuthenticator keeps the userinfo in oauth_user)."""
    if not auth_state:
        return None, []
    userinfo = auth_state.get("oauth_user") or {}
    email = auth_state.get("email") or userinfo.get("email")
    groups = auth_state.get("groups") or userinfo.get("wlcg.groups") or userinfo.get("groups") or []
    if email is not None and not EMAIL.match(str(email)):
        email = None
    return email, normalise_groups(groups)


def build_user_session(user_name, facility, namespace, email=None, groups=None, profile=None):
    """The UserSession custom resource for a user."""
    if not USER_NAME.match(user_name):
        raise ValueError(
            f"user name {user_name!r} cannot have a session: use 1 to 64 letters, digits and . _ @ + -, "
            "starting with a letter or digit")
    if not DNS_LABEL.match(facility or ""):
        raise ValueError(f"facility {facility!r} is not a valid AnalysisFacility name")
    name = session_name(user_name)
    user = {"name": user_name}
    if email:
        user["email"] = email
    if groups:
        user["groups"] = list(groups)
    spec = {"facilityRef": facility, "user": user, "hubEnvSecretName": hub_env_secret_name(name)}
    if profile:
        spec["profile"] = profile
    return {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {
                LABEL_USER: label_value(user_name),
                LABEL_FACILITY: facility,
                LABEL_MANAGED_BY: "jupyterhub",
            },
            "annotations": {ANNOTATION_USER: user_name},
        },
        "spec": spec,
    }


def build_hub_env_secret(user_session, env, owner_uid=None):
    """The Secret with the hub's environment for the single-user server (API token, OAuth client, URLs).
    Owned by the UserSession so that deleting the session removes it."""
    metadata = user_session["metadata"]
    secret_metadata = {
        "name": user_session["spec"]["hubEnvSecretName"],
        "namespace": metadata["namespace"],
        "labels": dict(metadata["labels"]),
    }
    if owner_uid:
        secret_metadata["ownerReferences"] = [{
            "apiVersion": API_VERSION,
            "kind": KIND,
            "name": metadata["name"],
            "uid": owner_uid,
            "controller": False,
            "blockOwnerDeletion": False,
        }]
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "Opaque",
        "metadata": secret_metadata,
        "stringData": {key: str(value) for key, value in env.items()},
    }


def condition(session, type_):
    for entry in ((session or {}).get("status") or {}).get("conditions") or []:
        if entry.get("type") == type_:
            return entry
    return None


def is_ready(session):
    ready = condition(session, "Ready")
    url = ((session or {}).get("status") or {}).get("serverUrl")
    return bool(ready and ready.get("status") == "True" and url)


def progress_of(session):
    """(percent, message) for the spawn page, from the session's conditions."""
    percent = 10
    for type_, value in PROGRESS_STEPS:
        entry = condition(session, type_)
        if entry and entry.get("status") == "True":
            percent = value
    ready = condition(session, "Ready")
    if ready and ready.get("message"):
        message = ready["message"]
    else:
        phase = ((session or {}).get("status") or {}).get("phase") or "Pending"
        message = f"Session {phase.lower()}"
    return percent, message


class UserSessionSpawner(Spawner):
    """Spawns a notebook server by creating a UserSession for the AnalysisFacility operator."""

    facility = Unicode(
        os.environ.get("ANALYSISFACILITY_FACILITY", ""),
        help="Name of the AnalysisFacility the sessions belong to.",
    ).tag(config=True)

    namespace = Unicode(help="Namespace of the facility (default: the hub pod's namespace).").tag(config=True)

    kubeconfig = Unicode(
        os.environ.get("KUBECONFIG", ""),
        help="kubeconfig file to use; the in-cluster service account when empty.",
    ).tag(config=True)

    profiles = List(
        Dict(),
        help="Profiles offered on the spawn page: dicts with name, display_name, description, default.",
    ).tag(config=True)

    poll_seconds = Float(1.0, help="How often the session is read while waiting for it.").tag(config=True)

    delete_timeout = Integer(60, help="Seconds to wait for a previous session to disappear.").tag(config=True)

    @default("namespace")
    def _default_namespace(self):
        if os.environ.get("POD_NAMESPACE"):
            return os.environ["POD_NAMESPACE"]
        try:
            with open(SERVICE_ACCOUNT_NAMESPACE) as handle:
                return handle.read().strip()
        except OSError:
            return "default"

    # The notebook listens on all interfaces of its pod, on the port the operator's pod exposes.
    @default("ip")
    def _default_ip(self):
        return "0.0.0.0"

    @default("port")
    def _default_port(self):
        return 8888

    # The hub's own PATH, LANG, ... mean nothing inside the notebook image.
    @default("env_keep")
    def _default_env_keep(self):
        return []

    @default("start_timeout")
    def _default_start_timeout(self):
        return 600

    @default("options_form")
    def _default_options_form(self):
        if len(self.profiles) < 2:
            return ""
        options = []
        for profile in self.profiles:
            name = html.escape(str(profile.get("name", "")))
            label = html.escape(str(profile.get("display_name") or profile.get("name", "")))
            description = profile.get("description")
            if description:
                label += " &mdash; " + html.escape(str(description))
            selected = " selected" if profile.get("default") else ""
            options.append(f'<option value="{name}"{selected}>{label}</option>')
        return ('<label for="profile">Server profile</label>'
                '<select class="form-control" name="profile" id="profile">' + "".join(options) + "</select>")

    def options_from_form(self, formdata):
        chosen = (formdata.get("profile") or [""])[0]
        return {"profile": chosen} if chosen else {}

    # --- Kubernetes access ---------------------------------------------------------------------------------

    _api_client = None

    def _client(self):
        if self._api_client is None:
            if self.kubeconfig:
                self._api_client = k8s_config.new_client_from_config(config_file=self.kubeconfig)
            else:
                configuration = k8s_client.Configuration()
                k8s_config.load_incluster_config(client_configuration=configuration)
                self._api_client = k8s_client.ApiClient(configuration)
        return self._api_client

    async def _call(self, function, *args, **kwargs):
        # The kubernetes client is synchronous; keep the hub's event loop free.
        return await asyncio.get_running_loop().run_in_executor(None, lambda: function(*args, **kwargs))

    def _custom(self):
        return k8s_client.CustomObjectsApi(self._client())

    def _core(self):
        return k8s_client.CoreV1Api(self._client())

    @property
    def session_name(self):
        return session_name(self.user.name)

    async def _read_session(self):
        try:
            return await self._call(self._custom().get_namespaced_custom_object,
                                    GROUP, VERSION, self.namespace, PLURAL, self.session_name)
        except ApiException as error:
            if error.status == 404:
                return None
            raise

    async def _delete_session(self, wait_seconds):
        try:
            await self._call(self._custom().delete_namespaced_custom_object,
                             GROUP, VERSION, self.namespace, PLURAL, self.session_name,
                             body=k8s_client.V1DeleteOptions(propagation_policy="Background"))
        except ApiException as error:
            if error.status != 404:
                raise
        deadline = time.monotonic() + wait_seconds
        while time.monotonic() < deadline:
            if await self._read_session() is None:
                return True
            await asyncio.sleep(self.poll_seconds)
        return False

    # --- Spawner interface ---------------------------------------------------------------------------------

    async def build_objects(self):
        """The UserSession and hub environment Secret for the current user (nothing is sent)."""
        auth_state = None
        try:
            auth_state = await self.user.get_auth_state()
        except Exception:  # auth state disabled or not decryptable: spawn without e-mail and groups
            self.log.debug("no auth_state for %s", self.user.name)
        email, groups = identity_from_auth_state(auth_state)
        profile = (self.user_options or {}).get("profile")
        if not profile:
            profile = next((p.get("name") for p in self.profiles if p.get("default")), None)
        session = build_user_session(self.user.name, self.facility, self.namespace, email, groups, profile)
        return session, self.get_env()

    async def start(self):
        if self.name:
            raise RuntimeError("named servers are not supported: a user has one UserSession")
        session, env = await self.build_objects()

        if await self._read_session() is not None:
            # A session left from an earlier spawn has another hub token in its environment: replace it.
            self.log.info("replacing existing UserSession %s/%s", self.namespace, self.session_name)
            if not await self._delete_session(self.delete_timeout):
                raise RuntimeError(f"the previous session {self.session_name} is still being deleted; try again shortly")

        created = await self._call(self._custom().create_namespaced_custom_object,
                                   GROUP, VERSION, self.namespace, PLURAL, session)
        secret = build_hub_env_secret(session, env, created["metadata"]["uid"])
        try:
            await self._call(self._core().create_namespaced_secret, self.namespace, secret)
        except ApiException as error:
            if error.status != 409:
                raise
            await self._call(self._core().replace_namespaced_secret,
                             secret["metadata"]["name"], self.namespace, secret)
        self.log.info("created UserSession %s/%s for %s", self.namespace, self.session_name, self.user.name)

        while True:
            current = await self._read_session()
            if current is None:
                raise RuntimeError(f"UserSession {self.session_name} was deleted while starting")
            if is_ready(current):
                return current["status"]["serverUrl"]
            status = current.get("status") or {}
            if status.get("phase") == "Failed":
                ready = condition(current, "Ready") or {}
                raise RuntimeError(f"session failed: {ready.get('reason', 'Failed')}: {ready.get('message', '')}")
            await asyncio.sleep(self.poll_seconds)

    async def progress(self):
        last = None
        while True:
            try:
                current = await self._read_session()
            except ApiException as error:
                self.log.warning("cannot read UserSession %s: %s", self.session_name, error.reason)
                current = None
            if current is not None:
                event = progress_of(current)
                if event != last:
                    last = event
                    yield {"progress": event[0], "message": event[1]}
                if event[0] >= 100:
                    return
            await asyncio.sleep(self.poll_seconds)

    async def poll(self):
        current = await self._read_session()
        if current is None:
            return 0
        if (current.get("metadata") or {}).get("deletionTimestamp"):
            return 0
        if ((current.get("status") or {}).get("phase")) == "Failed":
            return 1
        return None

    async def stop(self, now=False):
        # Deleting the session is the whole stop: its pod, Service, Secrets and ConfigMap are owned by it.
        await self._delete_session(0 if now else self.delete_timeout)

    def get_state(self):
        state = super().get_state()
        state["session_name"] = self.session_name
        return state


def main(argv=None):
    parser = argparse.ArgumentParser(description="Print the objects the UserSessionSpawner would create.")
    parser.add_argument("--dry-run", action="store_true", help="print the UserSession and hub env Secret as JSON")
    parser.add_argument("--session-name", metavar="USER", help="print the UserSession name of USER and exit")
    parser.add_argument("--user")
    parser.add_argument("--facility")
    parser.add_argument("--namespace", default="default")
    parser.add_argument("--email")
    parser.add_argument("--group", action="append", default=[])
    parser.add_argument("--profile")
    parser.add_argument("--env", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args(argv)

    if args.session_name is not None:
        print(session_name(args.session_name))
        return 0
    if not args.dry_run or not args.user:
        parser.error("use --session-name USER, or --dry-run --user NAME --facility NAME")
    try:
        session = build_user_session(args.user, args.facility, args.namespace,
                                     args.email, normalise_groups(args.group), args.profile)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    # Values are replaced: the output shows which variables reach the pod, never a token.
    env = {item.split("=", 1)[0]: "<redacted>" for item in args.env}
    json.dump({"userSession": session, "hubEnvSecret": build_hub_env_secret(session, env)}, sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
