"""JupyterHub spawner for the AnalysisFacility operator.

The hub does not start notebook pods itself: it creates a UserSession custom resource and the operator makes
everything a session needs (token Secret, notebook pod with the user's store directory, client configuration,
Dask cluster, NetworkPolicy). The spawner waits for the session's Ready condition and hands the hub the server
URL the operator publishes in status.serverUrl. Stopping the server deletes the UserSession; Kubernetes garbage
collection removes what it owned (never store data).

Hub configuration (the facility controller generates it; these are the names the generated config uses):

    c.JupyterHub.spawner_class = "analysisfacility_spawner.UserSessionSpawner"
    c.UserSessionSpawner.facility_name = "cms-af"
    c.UserSessionSpawner.facility_namespace = "cmsaf"     # default: the hub pod's namespace
    c.UserSessionSpawner.profile_list = [{"slug": "default", "display_name": "2 cores, 4 GiB", "default": True}]
    c.UserSessionSpawner.groups_claim = "groups"          # where OAuthenticator's userinfo keeps the groups
    c.JupyterHub.hub_connect_url = "http://hub.cmsaf.svc:8081"   # how notebook pods reach the hub

Dependencies: only what the hub image quay.io/jupyterhub/k8s-hub:3.3.8 ships (zero-to-jupyterhub-k8s
images/hub/requirements.txt at tag 3.3.8): jupyterhub, tornado and traitlets, and the standard library. The
Kubernetes API is spoken in plain HTTPS with tornado's AsyncHTTPClient, authenticated with the pod's
ServiceAccount token and CA (/var/run/secrets/kubernetes.io/serviceaccount) at KUBERNETES_SERVICE_HOST/PORT,
so no Kubernetes client library is needed. The API used (Spawner.start/poll/stop/progress, get_state/load_state,
get_env, user.get_auth_state) is the same in JupyterHub 3.0 (tested here) and 4.1 (the image).

API calls (the hub's Role in HubBuilder.cs grants exactly these): usersessions get, list, create, patch, delete;
secrets create. The hub never reads, changes or deletes a Secret: each spawn writes its environment into a new
Secret named after the session and a random suffix, owned by the UserSession, so garbage collection removes it.

The experiment's token: when the login left a refresh token in auth_state (OAuthenticator 16.3 build_auth_state_dict
keeps "refresh_token"; identity providers such as INDIGO IAM issue one for the offline_access scope), the spawn hands
it to the operator in another new Secret owned by the session (key refresh_token), named by the session's
spec.refreshTokenSecretName. It never goes into the pod's environment or spec: the operator refreshes the access
token at the identity provider and delivers it to the session as EXPERIMENT_TOKEN_FILE.

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
import secrets
import string
import sys
import time
import urllib.parse

from jupyterhub.spawner import Spawner
from tornado.httpclient import AsyncHTTPClient, HTTPRequest
from tornado.web import HTTPError
from traitlets import Dict, Float, Integer, List, Unicode, default

GROUP = "analysisfacility.io"
VERSION = "v1alpha1"
PLURAL = "usersessions"
KIND = "UserSession"
API_VERSION = GROUP + "/" + VERSION

LABEL_USER = "analysisfacility.io/user"
LABEL_FACILITY = "analysisfacility.io/facility"
LABEL_MANAGED_BY = "app.kubernetes.io/managed-by"
MANAGED_BY_HUB = "jupyterhub"
ANNOTATION_USER = "analysisfacility.io/hub-user"

USER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,63}$")
WLCG_GROUP = re.compile(r"^/[A-Za-z0-9][A-Za-z0-9_.-]*(/[A-Za-z0-9][A-Za-z0-9_.-]*)*$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")

SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"

# Progress shown on the spawn page once a condition is True, in the order the operator reaches them.
PROGRESS_STEPS = (("TokenIssued", 30), ("StorageMounted", 60), ("ServerReady", 90), ("Ready", 100))

# Reasons of the session's Ready condition that waiting cannot cure (the operator's UserSessionReconciler and
# SessionConditions): the spawn fails at once with the operator's message, and the session is removed.
TERMINAL_REASONS = frozenset({"InvalidSpec", "FacilityNotFound", "PodFailed", "InvalidIssuer", "TokenRefused"})


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


def hub_env_secret_name(name, suffix=None):
    """A new name for every spawn: the hub may create Secrets but never read, replace or delete one (its Role),
    so a spawn never meets the Secret of an earlier one."""
    return f"{name}-hub-env-{suffix or secrets.token_hex(3)}"


def refresh_token_secret_name(name, suffix=None):
    """A new name for every spawn, as for the environment: the operator tells logins apart by it."""
    return f"{name}-hub-login-{suffix or secrets.token_hex(3)}"


def refresh_token_from_auth_state(auth_state):
    """The login's refresh token (OAuthenticator keeps it under "refresh_token"), or None."""
    token = (auth_state or {}).get("refresh_token")
    return token if isinstance(token, str) and token else None


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


def identity_from_auth_state(auth_state, groups_claim="groups"):
    """E-mail and groups from an authenticator's auth_state. OAuthenticator 16 (the hub image's) keeps the
    userinfo response under "oauth_user"; the groups are under the claim it is configured with (claim_groups_key)."""
    if not auth_state:
        return None, []
    userinfo = auth_state.get("oauth_user") or {}
    email = auth_state.get("email") or userinfo.get("email")
    groups = (auth_state.get("groups") or userinfo.get(groups_claim) or userinfo.get("wlcg.groups")
              or userinfo.get("groups") or [])
    if email is not None and not EMAIL.match(str(email)):
        email = None
    return email, normalise_groups(groups)


def build_user_session(user_name, facility, namespace, email=None, groups=None, profile=None, secret_name=None,
                       refresh_secret_name=None):
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
    spec = {"facilityRef": facility, "user": user, "hubEnvSecretName": secret_name or hub_env_secret_name(name)}
    if profile:
        spec["profile"] = profile
    if refresh_secret_name:
        spec["refreshTokenSecretName"] = refresh_secret_name
    return {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {
                LABEL_USER: label_value(user_name),
                LABEL_FACILITY: facility,
                LABEL_MANAGED_BY: MANAGED_BY_HUB,
            },
            "annotations": {ANNOTATION_USER: user_name},
        },
        "spec": spec,
    }


def build_hub_env_secret(user_session, env, owner_uid=None):
    """The Secret with the hub's environment for the single-user server (API token, OAuth client, URLs).
    Owned by the UserSession so that deleting the session removes it."""
    return build_session_secret(user_session, user_session["spec"]["hubEnvSecretName"], env, owner_uid)


def build_refresh_token_secret(user_session, refresh_token, owner_uid=None):
    """The Secret handing the login's refresh token to the operator (never mounted in a pod), owned by the session."""
    return build_session_secret(user_session, user_session["spec"]["refreshTokenSecretName"],
                                {"refresh_token": refresh_token}, owner_uid)


def build_session_secret(user_session, name, data, owner_uid=None):
    metadata = user_session["metadata"]
    labels = dict(metadata.get("labels") or {})
    labels[LABEL_MANAGED_BY] = MANAGED_BY_HUB
    secret_metadata = {
        "name": name,
        "namespace": metadata["namespace"],
        "labels": labels,
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
        "stringData": {key: str(value) for key, value in data.items()},
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


def failure_of(session):
    """(reason, message) when the session cannot become ready without a change (bad profile, no facility, ...)."""
    ready = condition(session, "Ready") or {}
    phase = ((session or {}).get("status") or {}).get("phase")
    if ready.get("status") == "True":
        return None
    if phase == "Failed" or ready.get("reason") in TERMINAL_REASONS:
        return ready.get("reason") or "Failed", ready.get("message") or "The session failed."
    return None


def session_user(session):
    return (((session or {}).get("spec") or {}).get("user") or {}).get("name")


def is_hub_made(session):
    return (((session or {}).get("metadata") or {}).get("labels") or {}).get(LABEL_MANAGED_BY) == MANAGED_BY_HUB


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


class SessionStartFailed(HTTPError):
    """A start the operator refused, with its condition's reason and message for the user. JupyterHub shows an
    HTTPError's message on the spawn page (other exceptions become "Unhandled error starting server") and
    `jupyterhub_message` on the page of a failed pending spawn (handlers/pages.py in 3.0 and 4.1)."""

    def __init__(self, reason, message):
        text = f"{reason}: {message}"
        super().__init__(400, "%s", text)
        self.jupyterhub_message = text


class ApiError(Exception):
    """A Kubernetes API call answered with an error status."""

    def __init__(self, method, path, code, body):
        self.code = code
        self.reason = ""
        self.message = ""
        try:
            status = json.loads(body or b"{}")
            self.reason = status.get("reason") or ""
            self.message = status.get("message") or ""
        except ValueError:
            self.message = (body or b"")[:200].decode("utf-8", "replace")
        super().__init__(f"{method} {path}: {code} {self.reason} {self.message}".strip())


class KubernetesApi:
    """The few Kubernetes REST calls the spawner makes, in plain HTTPS with the pod's ServiceAccount.

    The token is read from its file on every call: kubelet rotates projected ServiceAccount tokens in place."""

    def __init__(self, api_url, service_account_dir, request_timeout=30.0):
        self.api_url = api_url.rstrip("/")
        self.service_account_dir = service_account_dir
        self.request_timeout = request_timeout

    @staticmethod
    def in_cluster_url(environ=None):
        environ = os.environ if environ is None else environ
        host = environ.get("KUBERNETES_SERVICE_HOST")
        port = environ.get("KUBERNETES_SERVICE_PORT", "443")
        if not host:
            return ""
        if ":" in host:  # IPv6 address
            host = f"[{host}]"
        return f"https://{host}:{port}"

    def _token(self):
        with open(os.path.join(self.service_account_dir, "token")) as handle:
            return handle.read().strip()

    async def request(self, method, path, body=None, content_type="application/json", query=None):
        """(status code, decoded JSON) of one call; 404 gives (404, None); other errors raise ApiError."""
        if not self.api_url:
            raise RuntimeError("the hub is not in a cluster: KUBERNETES_SERVICE_HOST is not set and no api_url is configured")
        url = self.api_url + path
        if query:
            url += "?" + urllib.parse.urlencode(query)
        request = HTTPRequest(
            url,
            method=method,
            headers={"Authorization": "Bearer " + self._token(), "Accept": "application/json",
                     "Content-Type": content_type},
            body=None if body is None else json.dumps(body),
            ca_certs=os.path.join(self.service_account_dir, "ca.crt"),
            validate_cert=True,
            request_timeout=self.request_timeout,
        )
        response = await AsyncHTTPClient().fetch(request, raise_error=False)
        if response.code == 599 and response.error is not None:  # no HTTP answer (connection, TLS, timeout)
            raise ConnectionError(f"{method} {url}: {response.error}")
        if response.code == 404:
            return 404, None
        if response.code >= 400:
            raise ApiError(method, path, response.code, response.body)
        return response.code, json.loads(response.body) if response.body else None

    # Paths of the objects the spawner touches.
    @staticmethod
    def sessions_path(namespace, name=None):
        path = f"/apis/{GROUP}/{VERSION}/namespaces/{namespace}/{PLURAL}"
        return path + "/" + name if name else path

    @staticmethod
    def secrets_path(namespace):
        return f"/api/v1/namespaces/{namespace}/secrets"


class UserSessionSpawner(Spawner):
    """Spawns a notebook server by creating a UserSession for the AnalysisFacility operator."""

    facility_name = Unicode(help="Name of the AnalysisFacility the sessions belong to.").tag(config=True)

    facility_namespace = Unicode(help="Namespace of the facility (default: the hub pod's namespace).").tag(config=True)

    profile_list = List(
        Dict(),
        help="Profiles offered on the spawn page: dicts with slug, display_name, description, default "
             "(the facility's spec.hub.profiles; the operator resolves image and resources from the slug).",
    ).tag(config=True)

    groups_claim = Unicode("groups", help="Userinfo claim with the user's groups (OAuthenticator's claim_groups_key).").tag(config=True)

    service_account_dir = Unicode(
        SERVICE_ACCOUNT_DIR, help="Directory with the ServiceAccount's token, ca.crt and namespace.").tag(config=True)

    api_url = Unicode(help="Kubernetes API server URL (default: from KUBERNETES_SERVICE_HOST/PORT).").tag(config=True)

    request_timeout = Float(30.0, help="Seconds one Kubernetes API call may take.").tag(config=True)

    poll_seconds = Float(1.0, help="How often the session is read while waiting for it.").tag(config=True)

    delete_timeout = Integer(60, help="Seconds to wait for a previous session to disappear.").tag(config=True)

    @default("facility_namespace")
    def _default_namespace(self):
        try:
            with open(os.path.join(self.service_account_dir, "namespace")) as handle:
                return handle.read().strip()
        except OSError:
            return "default"

    @default("api_url")
    def _default_api_url(self):
        return KubernetesApi.in_cluster_url()

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
        if len(self.profile_list) < 2:
            return ""
        options = []
        for profile in self.profile_list:
            slug = html.escape(str(profile.get("slug", "")))
            label = html.escape(str(profile.get("display_name") or profile.get("slug", "")))
            description = profile.get("description")
            if description:
                label += " &mdash; " + html.escape(str(description))
            selected = " selected" if profile.get("default") else ""
            options.append(f'<option value="{slug}"{selected}>{label}</option>')
        return ('<label for="profile">Server profile</label>'
                '<select class="form-control" name="profile" id="profile">' + "".join(options) + "</select>")

    def options_from_form(self, formdata):
        chosen = (formdata.get("profile") or [""])[0]
        return {"profile": chosen} if chosen else {}

    # --- Kubernetes access ---------------------------------------------------------------------------------

    # Name of this user's UserSession: the operator's naming, or the name of an admin-made session the
    # spawner adopted; kept in the hub's database through get_state/load_state.
    _session_name = None

    @property
    def kube(self):
        return KubernetesApi(self.api_url, self.service_account_dir, self.request_timeout)

    @property
    def session_name(self):
        return self._session_name or session_name(self.user.name)

    async def _read_session(self, name=None):
        _, body = await self.kube.request("GET", KubernetesApi.sessions_path(self.facility_namespace, name or self.session_name))
        return body

    async def _find_session(self):
        """This user's session: by the operator's name, else one an admin made for the user (any name)."""
        current = await self._read_session(session_name(self.user.name))
        if current is not None:
            return current
        _, listing = await self.kube.request("GET", KubernetesApi.sessions_path(self.facility_namespace))
        mine = [item for item in (listing or {}).get("items", [])
                if session_user(item) == self.user.name
                and (item.get("spec") or {}).get("facilityRef") == self.facility_name
                and not (item.get("metadata") or {}).get("deletionTimestamp")]
        mine.sort(key=lambda item: (item["metadata"].get("creationTimestamp") or "", item["metadata"]["name"]))
        return mine[0] if mine else None

    async def _delete_session(self, wait_seconds, name=None):
        name = name or self.session_name
        await self.kube.request("DELETE", KubernetesApi.sessions_path(self.facility_namespace, name),
                                query={"propagationPolicy": "Background"})
        deadline = time.monotonic() + wait_seconds
        while time.monotonic() < deadline:
            if await self._read_session(name) is None:
                return True
            await asyncio.sleep(self.poll_seconds)
        return wait_seconds <= 0

    async def _create_secrets(self, session, env, refresh_token, owner_uid):
        await self.kube.request("POST", KubernetesApi.secrets_path(self.facility_namespace),
                                build_hub_env_secret(session, env, owner_uid))
        if refresh_token and session["spec"].get("refreshTokenSecretName"):
            await self.kube.request("POST", KubernetesApi.secrets_path(self.facility_namespace),
                                    build_refresh_token_secret(session, refresh_token, owner_uid))

    # --- Spawner interface ---------------------------------------------------------------------------------

    async def build_objects(self):
        """The UserSession, hub environment and login refresh token for the current user (nothing is sent)."""
        auth_state = None
        try:
            auth_state = await self.user.get_auth_state()
        except Exception:  # auth state disabled or not decryptable: spawn without e-mail and groups
            self.log.warning("no auth_state for %s: the session gets no e-mail or groups", self.user.name)
        email, groups = identity_from_auth_state(auth_state, self.groups_claim)
        profile = (self.user_options or {}).get("profile")
        if not profile:
            profile = next((p.get("slug") for p in self.profile_list if p.get("default")), None)
        refresh_token = refresh_token_from_auth_state(auth_state)
        name = session_name(self.user.name)
        session = build_user_session(self.user.name, self.facility_name, self.facility_namespace, email, groups, profile,
                                     refresh_secret_name=refresh_token_secret_name(name) if refresh_token else None)
        return session, self.get_env(), refresh_token

    async def start(self):
        if self.name:
            raise RuntimeError("named servers are not supported: a user has one UserSession")
        session, env, refresh_token = await self.build_objects()

        existing = await self._find_session()
        if existing is not None and is_hub_made(existing):
            # A session left from an earlier spawn has another hub token in its environment: replace it.
            self._session_name = existing["metadata"]["name"]
            self.log.info("replacing existing UserSession %s/%s", self.facility_namespace, self.session_name)
            if not await self._delete_session(self.delete_timeout):
                raise RuntimeError(f"the previous session {self.session_name} is still being deleted; try again shortly")
            existing = None

        if existing is None:
            self._session_name = session["metadata"]["name"]
            _, created = await self.kube.request("POST", KubernetesApi.sessions_path(self.facility_namespace), session)
            await self._create_secrets(session, env, refresh_token, created["metadata"]["uid"])
            self.log.info("created UserSession %s/%s for %s", self.facility_namespace, self.session_name, self.user.name)
        else:
            await self._adopt(existing, session, env, refresh_token)

        try:
            return await self._wait_until_ready()
        except BaseException:
            # Nothing half-made stays behind: a failed or abandoned (timed out, cancelled) start removes the session.
            try:
                await self._delete_session(0)
            except Exception as error:
                self.log.warning("could not delete UserSession %s after a failed start: %s", self.session_name, error)
            raise

    async def _adopt(self, existing, session, env, refresh_token):
        """A session an admin made for this user (e.g. for a workshop) has no hub environment, so its notebook
        cannot start. The hub takes it over: the admin's spec (profile, resources, Dask, ttl) is kept, the hub
        environment is added, and from now on it is the user's hub session (stopping the server deletes it)."""
        name = existing["metadata"]["name"]
        self._session_name = name
        secret_name = hub_env_secret_name(name)
        handover = {"hubEnvSecretName": secret_name}
        if refresh_token:
            handover["refreshTokenSecretName"] = refresh_token_secret_name(name)
        adopted = dict(session, metadata=dict(existing["metadata"]), spec=dict(session["spec"], **handover))
        await self._create_secrets(adopted, env, refresh_token, existing["metadata"]["uid"])
        patch = {
            "metadata": {"labels": {LABEL_MANAGED_BY: MANAGED_BY_HUB}, "annotations": {ANNOTATION_USER: self.user.name}},
            "spec": handover,
        }
        await self.kube.request("PATCH", KubernetesApi.sessions_path(self.facility_namespace, name), patch,
                                content_type="application/merge-patch+json")
        self.log.info("adopted UserSession %s/%s made for %s", self.facility_namespace, name, self.user.name)

    async def _wait_until_ready(self):
        while True:
            current = await self._read_session()
            if current is None:
                raise RuntimeError(f"UserSession {self.session_name} was deleted while starting")
            if is_ready(current):
                return current["status"]["serverUrl"]
            failure = failure_of(current)
            if failure is not None:
                # The operator's condition, as the user should see it on the spawn page.
                raise SessionStartFailed(failure[0], failure[1])
            await asyncio.sleep(self.poll_seconds)

    async def progress(self):
        last = None
        while True:
            try:
                current = await self._read_session()
            except (ApiError, ConnectionError) as error:
                self.log.warning("cannot read UserSession %s: %s", self.session_name, error)
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
        """None while the session exists and has not failed (also right after a hub restart: the session is found
        by the name kept in the hub's state), 0 when it is gone (deleted, culled by ttl), 1 when it failed."""
        current = await self._read_session()
        if current is None:
            return 0
        if (current.get("metadata") or {}).get("deletionTimestamp"):
            return 0
        if failure_of(current) is not None:
            return 1
        return None

    async def stop(self, now=False):
        # Deleting the session is the whole stop: its pod, Service, Secrets and ConfigMap are owned by it.
        await self._delete_session(0 if now else self.delete_timeout)

    def get_state(self):
        state = super().get_state()
        if self._session_name:
            state["session_name"] = self._session_name
        return state

    def load_state(self, state):
        super().load_state(state)
        if state.get("session_name"):
            self._session_name = state["session_name"]

    def clear_state(self):
        super().clear_state()
        self._session_name = None


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
