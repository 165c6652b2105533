"""deploy/k8s keeps its promises: checked offline, without a cluster.

* every Kubernetes resource in the kustomize base and the example overlay is valid against the API's OpenAPI
  schemas (kubernetes-validate, strict: unknown fields are errors) for the oldest and the newest Kubernetes we
  support; KEDA's ScaledObject and TriggerAuthentication against tests/deploy/schemas/keda-v1alpha1.json;
  broken copies are rejected, so the validation cannot pass vacuously;
* the structure the system relies on: a Deployment per stage running ``worker <stage>`` with startup,
  readiness and liveness probes that exist in the CLI, a grace period longer than the task hard limit, no
  fixed replicas (KEDA owns them); the scheduler exactly once (Recreate); the API behind a Service with
  /livez and /readyz probes that exist in the app; a ScaledObject per stage on the Celery queue of that stage;
  a PodDisruptionBudget per stage selecting exactly its pods; the migration Job; non-root pods matching the
  image's user; settings from the ConfigMap, secrets only from the Secret newswire-secrets;
* where kubectl is installed, ``kubectl kustomize`` builds the base and the overlay, and the overlay's output
  (namespace, image, replicas, patches) is what the overlay says (skipped where kubectl is missing).
"""

from __future__ import annotations

import copy
import json
import re
import shutil
import subprocess
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable

import jsonschema
import kubernetes_validate
import pytest
import yaml

from tests.deploy.cli_check import assert_cli_accepts

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
BASE = K8S / "base"
OVERLAY = K8S / "overlays" / "example"
KEDA_SCHEMA = Path(__file__).parent / "schemas" / "keda-v1alpha1.json"
DOCKERFILE = ROOT / "deploy" / "Dockerfile"

STAGES = ("ingest", "clean", "enrich", "publish")
# The oldest Kubernetes the manifests are for (the preStop sleep action is GA from 1.30) and the newest known.
KUBERNETES_VERSIONS = ("1.30.0", kubernetes_validate.latest_version())
SECRET = "newswire-secrets"
CONFIG = "newswire-config"
SECRET_NAME = re.compile(r"PASSWORD|SECRET|TOKEN|(^|_)KEY($|_)|CREDENTIAL|DATABASE_URL|REDIS_URL", re.IGNORECASE)


# -- loading ------------------------------------------------------------------------------------
def documents(path: Path) -> list[dict[str, Any]]:
    return [document for document in yaml.safe_load_all(path.read_text(encoding="utf-8")) if document]


def kustomization(folder: Path) -> dict[str, Any]:
    return yaml.safe_load((folder / "kustomization.yaml").read_text(encoding="utf-8"))


def resource_files(folder: Path) -> list[Path]:
    """The files a kustomization lists as resources, following folders (other kustomizations)."""
    files: list[Path] = []
    for entry in kustomization(folder).get("resources", []):
        path = (folder / entry).resolve()
        files.extend(resource_files(path) if path.is_dir() else [path])
    return files


@lru_cache(maxsize=None)
def base_resources() -> tuple[dict[str, Any], ...]:
    return tuple(document for path in resource_files(BASE) for document in documents(path))


def base() -> list[dict[str, Any]]:
    return copy.deepcopy(list(base_resources()))


def of_kind(resources: Iterable[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {resource["metadata"]["name"]: resource for resource in resources if resource["kind"] == kind}


def containers(workload: dict[str, Any], init: bool = False) -> list[dict[str, Any]]:
    pod = workload["spec"]["template"]["spec"]
    return list(pod.get("initContainers", [])) + list(pod["containers"]) if init else list(pod["containers"])


def all_manifest_documents() -> list[tuple[str, dict[str, Any]]]:
    """Every resource in every file that a kustomization lists (patches are partial and checked after a build)."""
    seen: list[tuple[str, dict[str, Any]]] = []
    for folder in (BASE, OVERLAY):
        for entry in kustomization(folder).get("resources", []):
            path = folder / entry
            if path.is_file():
                seen += [(f"{path.relative_to(ROOT)}#{i}", document) for i, document in enumerate(documents(path))]
    return seen


# -- validation ---------------------------------------------------------------------------------
@lru_cache(maxsize=1)
def keda_schema() -> dict[str, Any]:
    schema = json.loads(KEDA_SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return schema


def validation_errors(resource: dict[str, Any]) -> list[str]:
    if resource.get("apiVersion", "").startswith("keda.sh/"):
        schema = {k: v for k, v in keda_schema().items() if k != "oneOf"}
        definition = {"ScaledObject": "scaledObject", "TriggerAuthentication": "triggerAuthentication"}.get(
            resource.get("kind"))
        if definition is None:
            return [f"unexpected KEDA kind {resource.get('kind')!r}"]
        schema["$ref"] = f"#/$defs/{definition}"
        validator = jsonschema.Draft202012Validator(schema)
        return [f"{'/'.join(map(str, error.absolute_path))}: {error.message}" for error in validator.iter_errors(resource)]
    errors = []
    for version in KUBERNETES_VERSIONS:
        try:
            kubernetes_validate.validate(resource, version, strict=True)
        except kubernetes_validate.ValidationError as error:
            errors.append(f"Kubernetes {version}: {'/'.join(map(str, error.path))}: {error.message}")
        except kubernetes_validate.SchemaNotFoundError:
            errors.append(f"Kubernetes {version} has no {resource.get('apiVersion')} {resource.get('kind')}")
    return errors


def test_every_manifest_is_valid() -> None:
    found = all_manifest_documents()
    assert len(found) >= 20, f"expected the whole base and overlay, found {len(found)} resources"
    problems = {where: errors for where, resource in found if (errors := validation_errors(resource))}
    assert not problems, "invalid manifests:\n" + "\n".join(f"{where}: {e}" for where, es in problems.items() for e in es)


def _broken(kind: str, name: str, breakage: Any) -> dict[str, Any]:
    resource = copy.deepcopy(next(r for r in base_resources() if r["kind"] == kind and r["metadata"]["name"] == name))
    breakage(resource)
    return resource


@pytest.mark.parametrize("broken", [
    pytest.param(lambda: _broken("Deployment", "newswire-clean", lambda r: r["spec"].__setitem__("replica", 2)),
                 id="unknown field"),
    pytest.param(lambda: _broken("Deployment", "newswire-clean",
                                 lambda r: r["spec"]["template"]["spec"]["containers"][0]["livenessProbe"]["exec"]
                                 .__setitem__("command", "newswire probe worker clean")), id="command not a list"),
    pytest.param(lambda: _broken("Deployment", "newswire-api", lambda r: r["spec"].pop("selector")),
                 id="no selector"),
    pytest.param(lambda: _broken("PodDisruptionBudget", "newswire-enrich",
                                 lambda r: r["spec"].__setitem__("maxUnavailable", [1])), id="wrong type"),
    pytest.param(lambda: _broken("ScaledObject", "newswire-publish",
                                 lambda r: r["spec"]["triggers"][0]["metadata"].__setitem__("listLength", 50)),
                 id="KEDA metadata not a string"),
    pytest.param(lambda: _broken("ScaledObject", "newswire-publish",
                                 lambda r: r["spec"].__setitem__("maxReplicas", 5)), id="KEDA unknown field"),
])
def test_validation_can_fail(broken) -> None:  # noqa: ANN001
    assert validation_errors(broken()), "a broken manifest passed validation"


def test_kustomizations_name_existing_files_and_leave_none_out() -> None:
    for folder in (BASE, OVERLAY):
        spec = kustomization(folder)
        assert spec["apiVersion"] == "kustomize.config.k8s.io/v1beta1" and spec["kind"] == "Kustomization"
        for entry in spec.get("resources", []) + [patch["path"] for patch in spec.get("patches", [])]:
            assert (folder / entry).exists(), f"{folder.relative_to(ROOT)}/kustomization.yaml names missing {entry}"
    listed = {path.name for path in resource_files(BASE)}
    present = {path.name for path in BASE.glob("*.yaml")} - {"kustomization.yaml"}
    assert listed == present, f"base files not in kustomization.yaml: {sorted(present - listed)}"
    assert (OVERLAY / "../../base").resolve() == BASE.resolve() and "../../base" in kustomization(OVERLAY)["resources"]


# -- structure ----------------------------------------------------------------------------------
def dockerfile_user() -> tuple[int, int]:
    users = re.findall(r"^USER\s+(\d+):(\d+)\s*$", DOCKERFILE.read_text(encoding="utf-8"), re.MULTILINE)
    assert users, "deploy/Dockerfile needs a numeric USER uid:gid"
    return int(users[-1][0]), int(users[-1][1])


def test_a_deployment_per_stage_with_probes_grace_and_no_fixed_replicas() -> None:
    from shared.settings import Settings

    deployments = of_kind(base(), "Deployment")
    hard_limit = Settings.model_fields["task_time_limit"].default
    for stage in STAGES:
        deployment = deployments.get(f"newswire-{stage}")
        assert deployment, f"no Deployment newswire-{stage}"
        assert "replicas" not in deployment["spec"], f"{stage}: KEDA owns the replicas; a fixed count fights it"
        pod = deployment["spec"]["template"]["spec"]
        assert pod["terminationGracePeriodSeconds"] > hard_limit, (
            f"{stage}: grace {pod['terminationGracePeriodSeconds']}s must outlast the task hard limit {hard_limit}s")
        (worker,) = containers(deployment)
        assert worker["args"] == ["worker", stage]
        assert_cli_accepts(["newswire", *worker["args"]])
        for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
            command = worker[probe]["exec"]["command"]
            assert command[:4] == ["newswire", "probe", "worker", stage], (stage, probe, command)
            assert_cli_accepts(command)
        assert "--liveness" in worker["livenessProbe"]["exec"]["command"], "liveness must not fail when Redis is down"
        assert "--liveness" not in worker["readinessProbe"]["exec"]["command"]
        strategy = deployment["spec"]["strategy"]
        assert strategy["type"] == "RollingUpdate" and strategy["rollingUpdate"]["maxUnavailable"] == 0


def test_selectors_match_their_pods() -> None:
    resources = base()
    for deployment in of_kind(resources, "Deployment").values():
        selector = deployment["spec"]["selector"]["matchLabels"]
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert selector.items() <= labels.items(), deployment["metadata"]["name"]
    pod_labels = {name: d["spec"]["template"]["metadata"]["labels"] for name, d in of_kind(resources, "Deployment").items()}

    def selected(selector: dict[str, str]) -> set[str]:
        return {name for name, labels in pod_labels.items() if selector.items() <= labels.items()}

    for name, pdb in of_kind(resources, "PodDisruptionBudget").items():
        assert selected(pdb["spec"]["selector"]["matchLabels"]) == {name}, f"PDB {name} selects other pods"
    service = of_kind(resources, "Service")["newswire-api"]
    assert selected(service["spec"]["selector"]) == {"newswire-api"}
    (api,) = containers(of_kind(resources, "Deployment")["newswire-api"])
    port_names = {port["name"] for port in api["ports"]}
    assert {port["targetPort"] for port in service["spec"]["ports"]} <= port_names


def test_the_scheduler_runs_exactly_once() -> None:
    resources = base()
    scheduler = of_kind(resources, "Deployment")["newswire-scheduler"]
    assert scheduler["spec"]["replicas"] == 1
    assert scheduler["spec"]["strategy"] == {"type": "Recreate"}, "a rolling update would run two beats for a while"
    assert [c["args"] for c in containers(scheduler)] == [["scheduler"]]
    scaled = {so["spec"]["scaleTargetRef"]["name"] for so in of_kind(resources, "ScaledObject").values()}
    assert "newswire-scheduler" not in scaled and not of_kind(resources, "HorizontalPodAutoscaler")


def test_the_api_has_its_probes_and_a_service() -> None:
    from services.api.app import app

    routes = set(app.openapi()["paths"])  # included routers are nested in app.routes; the schema lists all
    deployment = of_kind(base(), "Deployment")["newswire-api"]
    (api,) = containers(deployment)
    assert api["args"][:1] == ["api"] and "0.0.0.0" in api["args"]
    assert_cli_accepts(["newswire", *api["args"]])
    assert api["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert api["livenessProbe"]["httpGet"]["path"] == "/livez"
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert api[probe]["httpGet"]["path"] in routes, f"{probe}: the API has no {api[probe]['httpGet']['path']}"
    assert deployment["spec"]["replicas"] >= 2
    assert "newswire-api" in of_kind(base(), "PodDisruptionBudget")


def celery_queues() -> set[str]:
    """The queue names of the Celery app, read in a child process: importing shared.celery_app here would fix the
    app's broker to this process's settings before the pipeline fixture sets REDIS_URL."""
    import sys

    result = subprocess.run(
        [sys.executable, "-c", "import json; from shared.celery_app import app; "
                               "print(json.dumps([queue.name for queue in app.conf.task_queues]))"],
        capture_output=True, text=True, timeout=120, cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
    return set(json.loads(result.stdout.strip().splitlines()[-1]))


def test_keda_scales_each_stage_on_its_celery_queue() -> None:
    queues = celery_queues()
    resources = base()
    scaled_objects = of_kind(resources, "ScaledObject")
    config = of_kind(resources, "ConfigMap")[CONFIG]["data"]
    authentications = of_kind(resources, "TriggerAuthentication")
    deployments = of_kind(resources, "Deployment")
    for stage in STAGES:
        scaled = scaled_objects.get(f"newswire-{stage}")
        assert scaled, f"no ScaledObject for {stage}"
        spec = scaled["spec"]
        assert spec["scaleTargetRef"]["name"] == f"newswire-{stage}" and f"newswire-{stage}" in deployments
        worker_names = {c["name"] for c in containers(deployments[f"newswire-{stage}"])}
        assert spec["scaleTargetRef"]["envSourceContainerName"] in worker_names
        assert 1 <= spec["minReplicaCount"] < spec["maxReplicaCount"]
        (trigger,) = spec["triggers"]
        assert trigger["type"] == "redis"
        metadata = trigger["metadata"]
        assert metadata["listName"] == stage and stage in queues, "KEDA must read the stage's Celery queue"
        assert int(metadata["listLength"]) > 0
        assert metadata["addressFromEnv"] in config, "KEDA's Redis address must come from newswire-config"
        auth = authentications[trigger["authenticationRef"]["name"]]
        assert [(ref["name"], ref["key"]) for ref in auth["spec"]["secretTargetRef"]] == [(SECRET, "REDIS_PASSWORD")]


def test_a_disruption_budget_per_stage() -> None:
    budgets = of_kind(base(), "PodDisruptionBudget")
    for stage in STAGES:
        spec = budgets[f"newswire-{stage}"]["spec"]
        assert spec.get("maxUnavailable") == 1 and "minAvailable" not in spec, (
            f"{stage}: maxUnavailable 1 lets a drain proceed even with a single replica")
    assert "newswire-scheduler" not in budgets


@pytest.mark.parametrize("args", [["newswire", "probe", "worker", "clean", "enrich"], ["newswire", "probe", "worker", "clean", "--live"],
                                  ["newswire", "probe", "migrations", "--wait", "soon"], ["newswire", "probes"]])
def test_cli_check_can_fail(args: list[str]) -> None:
    with pytest.raises(AssertionError):
        assert_cli_accepts(args)


def test_migrations_run_as_a_job_and_everything_waits_for_them() -> None:
    resources = base()
    (job,) = of_kind(resources, "Job").values()
    assert [c["args"] for c in containers(job)] == [["migrate"]]
    assert job["spec"]["template"]["spec"]["restartPolicy"] in ("OnFailure", "Never")
    assert job["spec"]["backoffLimit"] >= 1
    for name, deployment in of_kind(resources, "Deployment").items():
        waits = [c for c in deployment["spec"]["template"]["spec"].get("initContainers", [])
                 if c["args"][:2] == ["probe", "migrations"]]
        assert waits, f"{name} does not wait for the migrations"
        assert_cli_accepts(["newswire", *waits[0]["args"]])
    assert_cli_accepts(["newswire", *containers(job)[0]["args"]])


def test_pods_run_as_the_images_non_root_user_without_privileges() -> None:
    uid, gid = dockerfile_user()
    for resource in base():
        if resource["kind"] not in ("Deployment", "Job"):
            continue
        name = resource["metadata"]["name"]
        pod = resource["spec"]["template"]["spec"]
        security = pod["securityContext"]
        assert security["runAsNonRoot"] is True and (security["runAsUser"], security["runAsGroup"]) == (uid, gid), name
        assert security["seccompProfile"]["type"] == "RuntimeDefault"
        assert pod["automountServiceAccountToken"] is False and pod["serviceAccountName"] == "newswire"
        mounts_needed = {"/app/var", "/tmp"}
        for container in containers(resource, init=True):
            context = container["securityContext"]
            assert context["allowPrivilegeEscalation"] is False and context["capabilities"]["drop"] == ["ALL"], name
            assert context["readOnlyRootFilesystem"] is True, name
            assert container["image"] == "newswire", f"{name}: every container runs the one image"
            assert {"cpu", "memory"} <= set(container["resources"]["limits"]), name
            assert {"cpu", "memory"} <= set(container["resources"]["requests"]), name
        for container in containers(resource):
            mounted = {mount["mountPath"] for mount in container.get("volumeMounts", [])}
            assert mounts_needed <= mounted, f"{name}: a read-only root needs writable {mounts_needed - mounted}"


def test_settings_from_the_config_map_and_secrets_only_from_the_secret() -> None:
    from shared.settings import Settings

    resources = base()
    config = of_kind(resources, "ConfigMap")[CONFIG]["data"]
    fields = {f"NEWSWIRE_{name.upper()}" for name in Settings.model_fields}
    sources = "\n".join(path.read_text(encoding="utf-8") for folder in ("shared", "services", "newswire")
                        for path in (ROOT / folder).rglob("*.py"))
    for key in config:
        assert not SECRET_NAME.search(key), f"{key} is secret: it belongs in {SECRET}"
        if key.startswith("NEWSWIRE_"):
            assert key in fields or f'"{key}"' in sources or "{stage.upper()}_CONCURRENCY" in sources and \
                re.fullmatch(r"NEWSWIRE_(INGEST|CLEAN|ENRICH|PUBLISH)_CONCURRENCY", key), f"{key} is read by nothing"
    for resource in resources:
        if resource["kind"] not in ("Deployment", "Job"):
            continue
        for container in containers(resource, init=True):
            refs = [(kind, ref["name"]) for source in container.get("envFrom", []) for kind, ref in source.items()]
            assert refs == [("configMapRef", CONFIG), ("secretRef", SECRET)], (resource["metadata"]["name"], refs)
            for variable in container.get("env", []):
                assert not SECRET_NAME.search(variable["name"]) or "valueFrom" in variable, variable
    assert not of_kind(resources, "Secret"), "no Secret is committed; newswire-secrets is made at install time"


def test_secret_example_holds_placeholders_for_what_the_pods_need() -> None:
    text = (OVERLAY / "secrets.env.example").read_text(encoding="utf-8")
    values = dict(line.split("=", 1) for line in text.splitlines() if line and not line.startswith("#"))
    assert {"REDIS_URL", "REDIS_PASSWORD", "DATABASE_URL"} <= set(values)
    assert all("change-me" in value for key, value in values.items() if SECRET_NAME.search(key))
    password = re.match(r"redis://:([^@]*)@", values["REDIS_URL"])
    assert password and password.group(1) == values["REDIS_PASSWORD"], "KEDA's password is the broker's"
    gitignore = (ROOT / ".gitignore").read_text(encoding="utf-8")
    assert "newswire-secrets.env" in gitignore, ".gitignore must keep the filled-in secrets file out of git"


# -- kustomize, where kubectl exists ------------------------------------------------------------
def kustomize(folder: Path) -> list[dict[str, Any]]:
    kubectl = shutil.which("kubectl")
    if not kubectl:
        pytest.skip("kubectl is not installed (kustomize builds are checked where it is)")
    result = subprocess.run([kubectl, "kustomize", str(folder)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return [document for document in yaml.safe_load_all(result.stdout) if document]


def test_kustomize_builds_the_base() -> None:
    built = kustomize(BASE)
    assert {(r["kind"], r["metadata"]["name"]) for r in built} == {(r["kind"], r["metadata"]["name"]) for r in base()}
    for resource in built:
        assert resource["metadata"]["labels"]["app.kubernetes.io/part-of"] == "newswire"
        assert not validation_errors(resource), (resource["kind"], resource["metadata"]["name"])


def test_kustomize_builds_the_example_overlay() -> None:
    built = kustomize(OVERLAY)
    problems = [(r["kind"], r["metadata"]["name"], validation_errors(r)) for r in built if validation_errors(r)]
    assert not problems, problems
    for resource in built:
        if resource["kind"] != "Namespace":
            assert resource["metadata"].get("namespace") == "newswire", (resource["kind"], resource["metadata"]["name"])
        if resource["kind"] in ("Deployment", "Job"):
            for container in containers(resource, init=True):
                assert container["image"] == "registry.example.org/newswire:0.1.0", container["image"]
    deployments = of_kind(built, "Deployment")
    assert deployments["newswire-api"]["spec"]["replicas"] == 3
    assert of_kind(built, "ScaledObject")["newswire-enrich"]["spec"]["maxReplicaCount"] == 20
    config = of_kind(built, "ConfigMap")[CONFIG]["data"]
    assert config["KEDA_REDIS_ADDRESS"].startswith("newswire-redis-master.")
    assert config["NEWSWIRE_DATA_DIR"] == "/app/var", "the patch merges into the base's ConfigMap"
    ingress = of_kind(built, "Ingress")["newswire-api"]
    backend = ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend["name"] in of_kind(built, "Service") and ingress["spec"]["tls"]
