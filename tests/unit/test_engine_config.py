"""``pyiii.engine_config``: config.yaml -> typed config (env expansion, strict keys, listeners)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pyiii.core.engine import EngineLimits
from pyiii.engine_config import ConfigError, default_config, expand_env, load, parse
from pyiii.transport.listener import ListenerConfig
from pyiii.workers import catalog

MANDATORY = {k for k in catalog.BUILTINS if catalog.load(k).mandatory}


def kinds(text: str) -> list[str]:
    return [w.kind for w in parse(text).workers]


# --------------------------------------------------------------------------- env expansion


def test_env_expansion(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYIII_TEST_PORT", "5000")
    monkeypatch.delenv("PYIII_TEST_UNSET", raising=False)
    assert expand_env("port: ${PYIII_TEST_PORT}", "1.2.3") == "port: 5000"
    assert expand_env("port: ${PYIII_TEST_UNSET:49134}", "1.2.3") == "port: 49134"
    assert expand_env("host: ${PYIII_TEST_UNSET:}", "1.2.3") == "host: "
    assert expand_env("v: ${PYIII_TEST_UNSET:__III_ENGINE_VERSION__}", "1.2.3") == "v: 1.2.3"


def test_missing_env_var_without_default_names_the_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PYIII_TEST_UNSET", raising=False)
    with pytest.raises(ConfigError, match=r"my.yaml:3: environment variable 'PYIII_TEST_UNSET'"):
        parse("workers:\n  - name: iii-worker-manager\n    config: {port: ${PYIII_TEST_UNSET}}\n", source="my.yaml")


def test_env_expansion_feeds_typed_listener_config(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYIII_TEST_PORT", "5001")
    cfg = parse("workers:\n  - name: iii-worker-manager\n    config:\n      port: ${PYIII_TEST_PORT}\n")
    listener = cfg.listeners()[0].config
    assert isinstance(listener, ListenerConfig)
    assert listener.port == 5001


# --------------------------------------------------------------------------- documents


@pytest.mark.parametrize("text", ["", "# only a comment\n", "workers: []\n"])
def test_empty_documents_get_the_mandatory_workers(text: str) -> None:
    assert set(kinds(text)) == MANDATORY


def test_mandatory_workers_are_added_and_the_listener_starts_last() -> None:
    found = kinds("workers:\n  - name: iii-worker-manager\n    config: {port: 1234}\n")
    assert set(found) == MANDATORY
    assert found[-1] == "iii-worker-manager"


def test_listener_config_fields() -> None:
    cfg = parse(
        "workers:\n"
        "  - name: iii-worker-manager\n"
        "    config:\n"
        "      port: 49199\n"
        "      host: 127.0.0.1\n"
        "      handshake_timeout_ms: 500\n"
        "      max_frame_bytes: 65536\n"
        "      middleware_function_id: mw::fn\n"
    )
    listener = cfg.listeners()[0].config
    assert (listener.port, listener.host, listener.handshake_timeout_ms) == (49199, "127.0.0.1", 500)
    assert listener.max_frame_bytes == 65536
    assert listener.middleware_function_id == "mw::fn"
    assert listener.rbac is None


def test_listener_defaults() -> None:
    listener = default_config().listeners()[0].config
    assert listener.port == 49134
    assert listener.host == "127.0.0.1"  # loopback unless configured (issue 16 item 4)
    assert listener.handshake_timeout_ms == 10_000
    # The reference engine accepts 64 MiB messages; SDK payloads above websockets' 1 MiB must pass.
    assert listener.max_frame_bytes >= 64 * 1024 * 1024


def test_several_listeners_get_distinct_entry_ids() -> None:
    cfg = parse(
        "workers:\n"
        "  - name: iii-worker-manager\n    config: {port: 1}\n"
        "  - name: iii-worker-manager\n    config: {port: 2}\n"
    )
    listeners = cfg.listeners()
    assert [w.config.port for w in listeners] == [1, 2]
    assert [w.entry_id for w in listeners] == ["iii-worker-manager", "iii-worker-manager#1"]


def test_aliases_and_legacy_modules_section() -> None:
    cfg = parse("modules:\n  - name: worker-manager\n    config: {port: 7}\n")
    assert cfg.listeners()[0].config.port == 7
    assert "iii-worker-manager" in kinds("workers:\n  - name: worker-manager\n")


def test_engine_limits_block() -> None:
    cfg = parse("engine:\n  invocation_timeout_ms: 1500\n  max_functions_per_worker: 3\n")
    assert cfg.limits.invocation_timeout_ms == 1500
    assert cfg.limits.max_functions_per_worker == 3
    assert parse("").limits == EngineLimits()


def test_engine_features_and_message_limits() -> None:
    cfg = parse("engine:\n  features: []\n  legacy_max_message_bytes: 0\n  max_local_stats_rows: 5\n")
    assert (cfg.limits.features, cfg.limits.legacy_max_message_bytes, cfg.limits.max_local_stats_rows) == ([], 0, 5)
    assert parse("").limits.features is None  # every feature the engine has


def test_data_dir() -> None:
    assert parse("data_dir: /tmp/pyiii-data\n").data_dir == Path("/tmp/pyiii-data")
    assert parse("").data_dir == Path("data")


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("workers: [\n", "not valid YAML"),
        ("- a\n- b\n", "top level must be a mapping"),
        ("workerz: []\n", "unknown top-level key"),
        ("workers:\n", "`workers:` is empty"),
        ("workers: {name: x}\n", "`workers` must be a list"),
        ("workers:\n  - port: 1\n", "expected a mapping with a `name:`"),
        ("workers:\n  - name: iii-teleport\n", "unknown worker 'iii-teleport'"),
        ("workers:\n  - name: iii-worker-manager\n    confg: {}\n", "unknown key(s) ['confg']"),
        ("workers:\n  - name: iii-worker-manager\n    config: {prot: 1}\n", "prot"),
        ("workers:\n  - name: iii-worker-manager\n    config: {port: abc}\n", "port"),
        ("workers:\n  - name: iii-worker-manager\n    config: {max_frame_bytes: big}\n", "max_frame_bytes"),
        ("workers:\n  - name: iii-engine-functions\n  - name: iii-engine-functions\n", "listed twice"),
        ("workers:\n  - name: iii-engine-functions\n  - name: engine-functions\n", "same worker"),
        ("workers:\n  - name: iii-engine-functions\n    image: foo:latest\n", "`image` is only for external"),
        ("engine:\n  invocation_timeout: 1\n", "engine: unknown key"),
        ("engine: 5\n", "`engine:` must be a mapping"),
        ("engine:\n  invocation_timeout_ms: soon\n", "engine:"),
        ("engine:\n  features: [observe.v1, large-messages.v1]\n", "unknown engine feature(s) ['large-messages.v1']"),
        ("engine:\n  legacy_max_message_bytes: -1\n", "legacy_max_message_bytes must be >= 0"),
    ],
)
def test_config_errors_are_precise(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse(text, source="cfg.yaml")
    assert message in str(info.value)
    assert str(info.value).startswith("cfg.yaml")


def test_entry_errors_name_their_line() -> None:
    text = "workers:\n  - name: iii-engine-functions\n\n  - name: nope-worker\n"
    with pytest.raises(ConfigError, match=r"^cfg.yaml:4: workers\[1\]"):
        parse(text, source="cfg.yaml")


def test_load_reads_a_file(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("workers:\n  - name: iii-worker-manager\n    config: {port: 4321}\n")
    cfg = load(path)
    assert cfg.listeners()[0].config.port == 4321
    with pytest.raises(ConfigError, match="cannot read"):
        load(tmp_path / "missing.yaml")


def test_the_namespace_grace_is_a_top_level_key_with_an_env_override(monkeypatch: pytest.MonkeyPatch) -> None:
    """Spec iii-0.23-0.25 §1.2, §6.2 item 11."""
    monkeypatch.delenv("III_NAMESPACE_GRACE_MS", raising=False)
    def grace(text: str) -> int:
        return parse(text).limits.registration_namespace_grace_ms

    assert grace("workers: []\n") == 5000
    assert grace("registration_namespace_grace_ms: 10000\nworkers: []\n") == 10000
    monkeypatch.setenv("III_NAMESPACE_GRACE_MS", "300")
    assert grace("registration_namespace_grace_ms: 10000\nworkers: []\n") == 300
    monkeypatch.setenv("III_NAMESPACE_GRACE_MS", "soon")  # not a number: ignored (warning)
    assert grace("workers: []\n") == 5000
    with pytest.raises(ConfigError, match="registration_namespace_grace_ms"):
        parse("workers:\n  - name: iii-worker-manager\n    config: {registration_namespace_grace_ms: 1}\n")
    with pytest.raises(ConfigError, match="registration_namespace_grace_ms"):
        parse("engine: {registration_namespace_grace_ms: 1}\nworkers: []\n")
    with pytest.raises(ConfigError, match="integer"):
        parse("registration_namespace_grace_ms: -1\nworkers: []\n")
