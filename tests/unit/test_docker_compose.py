"""docker/: Docker cannot run here, so check that the compose file parses, that everything it and
the Dockerfiles reference exists in the repository, and that every service has a healthcheck."""

from __future__ import annotations

import fnmatch
import ipaddress
import json
import re
import shlex
from pathlib import Path

import pytest
import yaml

from ccserver.settings import ENV_NAMES

REPO = Path(__file__).resolve().parents[2]
DOCKER = REPO / "docker"
COMPOSE_FILE = DOCKER / "compose.yaml"


def compose() -> dict:
    return yaml.safe_load(COMPOSE_FILE.read_text())


def built_services() -> dict[str, tuple[Path, Path]]:
    """service name -> (build context, Dockerfile)."""
    out = {}
    for name, service in compose()["services"].items():
        build = service.get("build")
        if build is None:
            continue
        if isinstance(build, str):
            build = {"context": build}
        context = (DOCKER / build.get("context", ".")).resolve()
        out[name] = (context, context / build.get("dockerfile", "Dockerfile"))
    return out


def instructions(dockerfile: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with comments dropped and continuation lines joined."""
    logical, current = [], ""
    for line in dockerfile.read_text().splitlines():
        if not current and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.rstrip().endswith("\\"):
            current += line.rstrip()[:-1] + " "
            continue
        logical.append(current + line)
        current = ""
    result = []
    for line in logical:
        keyword, _, rest = line.strip().partition(" ")
        result.append((keyword.upper(), rest.strip()))
    return result


def copy_sources(args: str) -> list[str] | None:
    """The sources of a COPY/ADD, or None when they come from another stage or image."""
    if args.startswith("["):
        words = json.loads(args)
        flags = []
    else:
        words = shlex.split(args)
        flags = [w for w in words if w.startswith("--")]
        words = [w for w in words if not w.startswith("--")]
    if any(f.startswith("--from=") for f in flags):
        return None
    return words[:-1]


def ignored(path: str, patterns: list[str]) -> bool:
    """Whether .dockerignore `patterns` exclude `path` (last matching pattern wins)."""
    excluded = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        pattern = pattern.lstrip("!").strip("/")
        parts = path.split("/")
        prefixes = ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]
        if any(fnmatch.fnmatchcase(p, pattern) or fnmatch.fnmatchcase(p, pattern.replace("**/", "")) for p in prefixes):
            excluded = not negate
    return excluded


def ignore_patterns(dockerfile: Path, context: Path) -> list[str]:
    specific = dockerfile.with_name(dockerfile.name + ".dockerignore")
    path = specific if specific.exists() else context / ".dockerignore"
    if not path.exists():
        return []
    return [
        line.strip() for line in path.read_text().splitlines() if line.strip() and not line.lstrip().startswith("#")
    ]


def test_compose_file_parses_with_the_expected_services():
    services = compose()["services"]
    assert {"postgres", "asterisk", "ccserver"} <= set(services)
    assert services["postgres"]["image"].startswith("postgres:16")


def test_build_contexts_and_dockerfiles_exist():
    built = built_services()
    assert {"asterisk", "ccserver"} <= set(built)
    for name, (context, dockerfile) in built.items():
        assert context.is_dir(), f"{name}: build context {context} is missing"
        assert dockerfile.is_file(), f"{name}: Dockerfile {dockerfile} is missing"


def test_every_copy_source_exists_and_reaches_the_build():
    for _name, (context, dockerfile) in built_services().items():
        patterns = ignore_patterns(dockerfile, context)
        copies = [copy_sources(args) for keyword, args in instructions(dockerfile) if keyword in ("COPY", "ADD")]
        assert copies, f"{dockerfile.name} copies nothing"
        for sources in filter(None, copies):
            for source in sources:
                matches = list(context.glob(source)) if source not in (".", "./") else [context]
                assert matches, f"{dockerfile.name}: COPY source {source!r} does not exist in {context}"
                if source not in (".", "./"):
                    assert not ignored(source.rstrip("/"), patterns), (
                        f"{dockerfile.name}: COPY source {source!r} is excluded by its .dockerignore"
                    )


@pytest.mark.parametrize(
    "service, needed",
    [
        (
            "ccserver",
            ["pyproject.toml", "ccserver/cli.py", "sql/migrations", "asterisk-conf/asterisk.conf", "dialplans"],
        ),
        (
            "asterisk",
            [
                "pyproject.toml",
                "ccserver/cli.py",
                "asterisk-conf/asterisk.conf",
                "dialplans",
                "docker/asterisk-entrypoint.sh",
            ],
        ),
    ],
)
def test_image_gets_the_repository_files_it_needs(service, needed):
    context, dockerfile = built_services()[service]
    patterns = ignore_patterns(dockerfile, context)
    for path in needed:
        assert (context / path).exists(), f"{path} is missing from the repository"
        assert not ignored(path, patterns), f"{dockerfile.name}.dockerignore excludes {path}"
    assert ignored(".venv/bin/python", patterns) and ignored(".git/HEAD", patterns)


def test_every_service_has_a_healthcheck():
    built = built_services()
    for name, service in compose()["services"].items():
        in_compose = "test" in (service.get("healthcheck") or {})
        in_image = name in built and any(
            keyword == "HEALTHCHECK" and args.split()[0] != "NONE" for keyword, args in instructions(built[name][1])
        )
        assert in_compose or in_image, f"service {name} has no healthcheck"


def test_ccserver_healthcheck_probes_status():
    _, dockerfile = built_services()["ccserver"]
    [check] = [args for keyword, args in instructions(dockerfile) if keyword == "HEALTHCHECK"]
    assert "/status" in check


def test_depends_on_waits_for_healthy_services():
    services = compose()["services"]
    built = built_services()
    depends = services["ccserver"]["depends_on"]
    assert depends["postgres"]["condition"] == "service_healthy"
    assert depends["asterisk"]["condition"] == "service_healthy"
    for name, service in services.items():
        for other, rule in (service.get("depends_on") or {}).items():
            assert other in services, f"{name} depends on unknown service {other}"
            if rule.get("condition") == "service_healthy":
                assert "healthcheck" in services[other] or other in built


def test_ccserver_uses_postgresql_service():
    env = compose()["services"]["ccserver"]["environment"]
    url = env["CCSERVER_STORAGE_DATABASE_URL"]
    assert url.startswith("postgresql+psycopg2://") and "@postgres:5432/" in url
    assert env["CCSERVER_PBX_AMI_HOST"] == "asterisk"


def test_environment_names_real_settings():
    known = set(ENV_NAMES)  # the current names only: the old flat ones would warn at each start
    for name, service in compose()["services"].items():
        env = service.get("environment") or {}
        for key in env:
            if key.startswith("CCSERVER_"):
                assert key in known, f"{name}: {key} is not a ccserver setting"
    # the PBX settings are shared: both containers must agree on ports and credentials
    services = compose()["services"]
    for key in (
        "CCSERVER_PBX_AMI_PORT",
        "CCSERVER_PBX_AMI_SECRET",
        "CCSERVER_PBX_ARI_PORT",
        "CCSERVER_PBX_ARI_PASSWORD",
    ):
        assert services["asterisk"]["environment"][key] == services["ccserver"]["environment"][key]


def test_required_variables_are_in_env_example():
    required = set(re.findall(r"\$\{(\w+):\?", COMPOSE_FILE.read_text()))
    example = {
        line.split("=", 1)[0]
        for line in (DOCKER / ".env.example").read_text().splitlines()
        if "=" in line and not line.startswith("#")
    }
    assert required and required <= example


def test_published_rtp_range_matches_settings():
    services = compose()["services"]
    env = services["asterisk"]["environment"]
    start, count = int(env["CCSERVER_ASTERISK_RTP_PORT_START"]), int(env["CCSERVER_ASTERISK_RTP_PORT_COUNT"])
    assert f"{start}-{start + count - 1}:{start}-{start + count - 1}/udp" in services["asterisk"]["ports"]
    assert (
        f"{env['CCSERVER_ASTERISK_SIP_PORT']}:{env['CCSERVER_ASTERISK_SIP_PORT']}/udp" in services["asterisk"]["ports"]
    )


def test_ccserver_image_command_is_a_real_cli_command():
    from ccserver.cli import build_parser

    _, dockerfile = built_services()["ccserver"]
    [cmd] = [json.loads(args) for keyword, args in instructions(dockerfile) if keyword == "CMD"]
    assert cmd[0] == "ccserver"
    build_parser().parse_args(cmd[1:])


def test_asterisk_entrypoint_command_is_a_real_cli_command():
    from ccserver.cli import build_parser

    lines = [
        line for line in (DOCKER / "asterisk-entrypoint.sh").read_text().splitlines() if line.startswith("ccserver ")
    ]
    assert lines
    for line in lines:
        build_parser().parse_args(shlex.split(line)[1:])


def interpolated(value: str) -> str:
    """A compose value as compose would pass it: ${VAR:-default} -> default, ${VAR:?msg} -> a
    stand-in secret (the value docker/.env would give)."""
    value = re.sub(r"\$\{\w+:-([^}]*)\}", r"\1", str(value))
    return re.sub(r"\$\{\w+:\?[^}]*\}", "set-in-dot-env", value)


def test_asterisk_ami_listens_on_and_permits_the_compose_network():
    data = compose()
    env = data["services"]["asterisk"]["environment"]
    assert env["CCSERVER_ASTERISK_AMI_BIND_ADDRESS"] == env["CCSERVER_ASTERISK_ARI_BIND_ADDRESS"] == "0.0.0.0"
    [pool] = data["networks"]["default"]["ipam"]["config"]
    subnet = ipaddress.ip_network(interpolated(pool["subnet"]))
    permits = [
        ipaddress.ip_network(p, strict=False)
        for p in re.split(r"[,\s]+", interpolated(env["CCSERVER_ASTERISK_AMI_PERMIT"]))
        if p
    ]
    assert any(subnet.subnet_of(p) for p in permits), (subnet, permits)


def test_asterisk_environment_renders_the_configuration(tmp_path):
    """What the entrypoint does at container start, with the compose environment."""
    from ccserver.adapters.asterisk.instance import AsteriskInstance
    from ccserver.settings import load_settings

    env = {key: interpolated(value) for key, value in compose()["services"]["asterisk"]["environment"].items()}
    env["CCSERVER_ASTERISK_MODULES_DIR"] = "/usr/lib/x86_64-linux-gnu/asterisk/modules"
    settings = load_settings(environ=env)
    out = tmp_path / "etc-asterisk"
    AsteriskInstance(settings).render_to(out)
    manager = (out / "manager.conf").read_text()
    assert f"port = {env['CCSERVER_PBX_AMI_PORT']}" in manager and "bindaddr = 0.0.0.0" in manager
    assert f"permit = {env['CCSERVER_ASTERISK_AMI_PERMIT']}" in manager
    assert f"bindport = {env['CCSERVER_PBX_ARI_PORT']}" in (out / "http.conf").read_text()
    assert f"bind = 0.0.0.0:{env['CCSERVER_ASTERISK_SIP_PORT']}" in (out / "pjsip.conf").read_text()
    assert f"rtpstart = {env['CCSERVER_ASTERISK_RTP_PORT_START']}" in (out / "rtp.conf").read_text()
