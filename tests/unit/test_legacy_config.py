"""The iii ≤ 0.10 module format (``modules: - class: ...``): translation, loading, migrate.

The two worked examples of spec/legacy-config-and-motia.md (§A.9 Motia template, §A.10 Redis +
RabbitMQ) are pinned twice: the translation gives exactly the spec's ``workers:`` document, and
loading the legacy file gives the same typed workers as loading that document.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
import yaml

from pyiii import legacy_config
from pyiii.bind import apply_host
from pyiii.engine_config import ConfigError, EngineConfig, find_default, load, migrate, parse
from pyiii.workers import catalog
from tests.support.legacy_examples import (
    MOTIA_TEMPLATE,
    MOTIA_TEMPLATE_WORKERS,
    REDIS_RABBITMQ,
    REDIS_RABBITMQ_WORKERS,
)

EXAMPLES = [(MOTIA_TEMPLATE, MOTIA_TEMPLATE_WORKERS), (REDIS_RABBITMQ, REDIS_RABBITMQ_WORKERS)]


def translated(text: str) -> list[dict[str, Any]]:
    """The translation of ``text`` as written (no env expansion), as plain entries."""
    result = legacy_config.translate(yaml.safe_load(text), lambda _path: None)
    return [t.item for t in result.entries if t.item is not None]


def workers(config: EngineConfig) -> list[tuple[str, str, Any]]:
    return [(w.kind, w.entry_id, w.config) for w in config.workers]


def error(text: str) -> str:
    with pytest.raises(ConfigError) as info:
        parse(text, source="iii-config.yaml")
    return str(info.value)


# --------------------------------------------------------------------------- worked examples


@pytest.mark.parametrize(("legacy", "expected"), EXAMPLES, ids=["A.9 motia template", "A.10 redis+rabbitmq"])
def test_worked_examples_translate_to_the_spec_documents(legacy: str, expected: str) -> None:
    assert translated(legacy) == yaml.safe_load(expected)["workers"]


@pytest.mark.parametrize(("legacy", "expected"), EXAMPLES, ids=["A.9 motia template", "A.10 redis+rabbitmq"])
def test_worked_examples_load_as_the_same_workers(legacy: str, expected: str) -> None:
    assert workers(parse(legacy)) == workers(parse(expected))


def test_motia_template_runs_its_workers_with_their_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STREAMS_PORT", "4999")
    monkeypatch.delenv("OTEL_ENABLED", raising=False)
    by_kind = {w.kind: w.config for w in parse(MOTIA_TEMPLATE).workers}
    assert {"iii-stream", "iii-state", "iii-http", "iii-queue", "iii-pubsub", "iii-cron", "iii-exec"} <= set(by_kind)
    assert (by_kind["iii-stream"].port, by_kind["iii-stream"].host) == (4999, "127.0.0.1")
    assert by_kind["iii-stream"].adapter.config.file_path == "./data/streams_store"
    assert by_kind["iii-state"].adapter.config.store_method == "file_based"
    assert (by_kind["iii-http"].port, by_kind["iii-http"].host) == (3111, "127.0.0.1")
    assert by_kind["iii-http"].cors.allowed_origins == ["*"]
    assert by_kind["iii-observability"].enabled is True and by_kind["iii-observability"].exporter == "memory"
    assert by_kind["iii-queue"].adapter.name == "builtin"
    assert by_kind["iii-exec"].exec == ["uv run motia run --dir steps"]
    assert by_kind["iii-exec"].watch == ["steps/**/*.py"]


def test_redis_rabbitmq_top_level_port_is_the_listener(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("III_PORT", "50001")
    config = parse(REDIS_RABBITMQ)
    [listener] = config.listeners()
    # No host is invented: loopback, pyiii's default (v0.10 bound 0.0.0.0; `--host` does that).
    assert (listener.config.port, listener.config.host) == (50001, "127.0.0.1")
    assert "host" not in listener.named
    apply_host(config, "0.0.0.0")  # `pyiii --host 0.0.0.0`: what iii 0.10 bound
    assert listener.config.host == "0.0.0.0"
    assert next(w.config.host for w in config.workers if w.kind == "iii-http") == "0.0.0.0"
    queue = next(w.config for w in config.workers if w.kind == "iii-queue")
    assert queue.adapter.name == "rabbitmq" and queue.adapter.config["prefetch_count"] == 20
    assert queue.queue_configs["payment"].type == "fifo"
    # The adapter's max_attempts is the attempt count of subscribers without queue_config (§A.4).
    assert queue.default_max_attempts == 5


@pytest.mark.parametrize(("legacy", "expected"), EXAMPLES, ids=["A.9 motia template", "A.10 redis+rabbitmq"])
def test_migrate_prints_the_spec_documents(tmp_path: Path, legacy: str, expected: str) -> None:
    path = tmp_path / "iii-config.yaml"
    path.write_text(legacy)
    out = migrate(path)
    assert yaml.safe_load(out) == yaml.safe_load(expected)
    assert "# was: class: modules::api::RestApiModule" in out
    assert "${REDIS_URL:redis://localhost:6379}" in out or "${STREAMS_PORT:3114}" in out  # placeholders kept
    # The printed file loads, to the same workers.
    (tmp_path / "config.yaml").write_text(out)
    assert workers(load(tmp_path / "config.yaml")) == workers(load(path))


def test_migrate_leaves_a_current_file_unchanged(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    text = "# mine\nworkers:\n  - name: iii-http   # keep this comment\n    config: {port: ${P:3111}}\n"
    path.write_text(text)
    assert migrate(path) == text


def test_migrate_refuses_what_the_engine_refuses(tmp_path: Path) -> None:
    path = tmp_path / "iii-config.yaml"
    path.write_text("modules:\n  - class: modules::api::RestApiModule\n    config: {prot: 1}\n")
    with pytest.raises(ConfigError, match=r"iii-config.yaml:3: .*unknown field `prot`"):
        migrate(path)


def test_migrate_notes_dropped_entries(tmp_path: Path) -> None:
    path = tmp_path / "iii-config.yaml"
    path.write_text("modules:\n  - class: modules::telemetry::TelemetryModule\n    config: {enabled: true}\n")
    out = migrate(path)
    assert "# modules::telemetry::TelemetryModule: dropped (pyiii sends no telemetry)" in out
    assert yaml.safe_load(out) == {"workers": []}


# --------------------------------------------------------------------------- classes and keys


@pytest.mark.parametrize(("cls", "kind"), [
    (cls, kind) for cls, kind in legacy_config.MODULES.items() if cls != legacy_config.WORKER_MODULE])
def test_every_module_class_names_a_pyiii_worker(cls: str, kind: str) -> None:
    config = {"exec": ["true"]} if kind == "iii-exec" else {}
    text = yaml.safe_dump({"modules": [{"class": cls, "config": config}]})
    assert kind in catalog.BUILTINS
    assert kind in [w.kind for w in parse(text).workers]


@pytest.mark.parametrize(("kind", "cls", "name"), [
    (kind, cls, name) for kind, table in legacy_config.ADAPTERS.items() for cls, name in table.items()])
def test_every_adapter_class_names_an_adapter_of_its_worker(kind: str, cls: str, name: str) -> None:
    module = next(c for c, k in legacy_config.MODULES.items() if k == kind)
    text = yaml.safe_dump({"modules": [{"class": module, "config": {"adapter": {"class": cls}}}]})
    [entry] = [w for w in parse(text).workers if w.kind == kind]
    adapter = entry.config.adapter
    assert getattr(adapter, "name", None) == name or type(adapter).__name__.lower().startswith(name)


def test_adapter_config_is_kept_as_is() -> None:
    text = ("modules:\n  - class: modules::queue::QueueModule\n    config:\n      adapter:\n"
            "        class: modules::queue::BuiltinQueueAdapter\n"
            "        config: {store_method: file_based, file_path: q.db, max_attempts: 4, backoff_ms: 10,\n"
            "                 concurrency: 2, poll_interval_ms: 100, mode: concurrent, channel_size: 256}\n")
    [queue] = [w for w in parse(text).workers if w.kind == "iii-queue"]
    assert queue.config.adapter.config["max_attempts"] == 4


def test_builtin_adapter_keys_are_the_subscriber_defaults() -> None:
    text = ("modules:\n  - class: modules::queue::QueueModule\n    config:\n      adapter:\n"
            "        class: modules::queue::BuiltinQueueAdapter\n"
            "        config: {max_attempts: 4, backoff_ms: 10, concurrency: 2, mode: concurrent}\n")
    [queue] = [w.config for w in parse(text).workers if w.kind == "iii-queue"]
    assert (queue.default_max_attempts, queue.default_backoff_ms, queue.default_concurrency) == (4, 10, 2)
    assert "`mode: fifo` (one topic-wide order) is not supported" in error(text.replace("concurrent", "fifo"))
    rabbit = text.replace("BuiltinQueueAdapter", "RabbitMQAdapter").replace(
        "{max_attempts: 4, backoff_ms: 10, concurrency: 2, mode: concurrent}", "{queue_mode: fifo}")
    assert "`queue_mode: fifo` (one topic-wide order) is not supported" in error(rabbit)


def test_worker_module_is_the_listener_and_port_zero_is_the_default() -> None:
    text = "port: 0\nmodules:\n  - class: modules::worker::WorkerModule\n  - class: modules::worker::WorkerModule\n"
    [listener] = parse(text).listeners()
    assert listener.config.port == 49134


def test_top_level_port_goes_to_an_existing_listener_without_one() -> None:
    text = ("port: 5005\nworkers:\n  - name: iii-worker-manager\n    config: {host: 127.0.0.2}\n"
            "  - name: iii-worker-manager\n    config: {port: 6006}\n")
    assert [(w.config.port, w.config.host) for w in parse(text).listeners()] == [
        (5005, "127.0.0.2"), (6006, "127.0.0.1")]
    text = "port: 5005\nmodules:\n  - name: iii-worker-manager\n    config: {port: 7007}\n"
    assert [w.config.port for w in parse(text).listeners()] == [7007]


def test_legacy_and_current_entries_mix_and_workers_follow_modules() -> None:
    text = ("modules:\n  - class: modules::api::RestApiModule\n    config: {port: 1}\n"
            "workers:\n  - name: iii-exec\n    config: {exec: [a]}\n"
            "  - class: modules::shell::ExecModule\n    config: {exec: [b]}\n")
    execs = [w for w in parse(text).workers if w.kind == "iii-exec"]
    # Two ExecModules (the Motia mixed template) are two exec workers.
    assert [(w.entry_id, w.config.exec) for w in execs] == [("iii-exec", ["a"]), ("iii-exec#1", ["b"])]


def test_observability_log_level_is_level() -> None:
    text = "modules:\n  - class: modules::observability::OtelModule\n    config: {log_level: debug}\n"
    [otel] = [w for w in parse(text).workers if w.kind == "iii-observability"]
    assert otel.config.level == "debug"


def test_telemetry_module_is_dropped_with_a_log_line(caplog: pytest.LogCaptureFixture) -> None:
    text = "modules:\n  - class: modules::telemetry::TelemetryModule\n    config: {sdk_api_key: k}\n"
    with caplog.at_level(logging.INFO, logger="pyiii.config"):
        config = parse(text, source="iii-config.yaml")
    assert {w.kind for w in config.workers} == catalog.MANDATORY
    assert "modules[0] modules::telemetry::TelemetryModule: dropped: pyiii sends no telemetry" in caplog.text
    assert "iii ≤ 0.10 module format" in caplog.text


def test_motia_runner_command_is_noted(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="pyiii.config"):
        parse(MOTIA_TEMPLATE, source="iii-config.yaml")
    assert "`uv run motia run --dir steps` starts Motia's runner" in caplog.text


@pytest.mark.parametrize(("text", "message"), [
    ("modules:\n  - class: modules::kv_server::KvServer\n", ":2: modules[0] modules::kv_server::KvServer: not "
     "supported: removed in iii 0.9; use modules::state::StateModule"),
    ("modules:\n  - class: modules::api::RestApi\n", ":2: modules[0] modules::api::RestApi: unknown module class "
     "'modules::api::RestApi' (pyiii knows: modules::api::RestApiModule"),
    ("modules:\n  - class: modules::api::RestApiModule\n    name: iii-http\n", "has both `class:` and `name:`"),
    ("modules:\n  - class: modules::api::RestApiModule\n    confg: {}\n", ":3: modules[0] modules::api::RestApiModule"
     ": unknown key(s) ['confg']"),
    ("modules:\n  - class: modules::api::RestApiModule\n    config: [1]\n", "`config:` must be a mapping"),
    ("port: 1\nmodules:\n  - {}\n", ":3: modules[0]: expected a mapping with a `class:`"),
    ("modules:\n  - class: modules::state::StateModule\n    config:\n      adapter:\n"
     "        class: modules::stream::adapters::RedisAdapter\n",
     ":5: modules[0] modules::state::StateModule: adapter 'modules::stream::adapters::RedisAdapter' belongs to "
     "another module (iii-stream)"),
    ("modules:\n  - class: modules::queue::QueueModule\n    config:\n      adapter:\n"
     "        class: modules::state::adapters::Bridge\n", ":5: modules[0] modules::queue::QueueModule: adapter "
     "'modules::state::adapters::Bridge' belongs to another module (iii-state)"),
    ("modules:\n  - class: modules::cron::CronModule\n    config:\n      adapter: {class: Kv}\n",
     "unknown adapter class 'Kv' (available: modules::cron::KvCronAdapter, modules::cron::RedisCronAdapter)"),
    ("modules:\n  - class: modules::cron::CronModule\n    config:\n      adapter: {clas: x}\n", "needs a `class:`"),
    ("modules:\n  - class: modules::cron::CronModule\n    config:\n      adapter: {class: modules::cron::KvCronAdapter,"
     " cfg: {}}\n", "adapter: unknown key(s) ['cfg']"),
    ("modules:\n  - class: modules::api::RestApiModule\n    config:\n      port: 1\n      body_limit: 10\n",
     ":5: modules[0] modules::api::RestApiModule: `body_limit` is in the iii 0.10 docs but was never implemented"),
    ("modules:\n  - class: modules::api::RestApiModule\n    config:\n      port: 1\n      prot: 10\n",
     ":5: modules[0] modules::api::RestApiModule (iii-http).config: Object contains unknown field `prot`"),
    ("modules:\n  - class: modules::queue::QueueModule\n    config:\n      adapter:\n"
     "        class: modules::queue::RabbitMQAdapter\n        config: {amqp_uri: x}\n",
     ":3: modules[0] modules::queue::QueueModule (iii-queue).config: iii-queue adapter 'rabbitmq': Object contains "
     "unknown field `amqp_uri`"),
    ("modules:\n  - class: modules::observability::OtelModule\n    config: {level: info, log_level: debug}\n",
     "both `level` and `log_level`"),
    ("modules:\n  - class: modules::observability::OtelModule\n    config: {exporter: jaeger}\n",
     ":3: modules[0] modules::observability::OtelModule (iii-observability).config: Invalid enum value 'jaeger'"),
    ("modules:\n  - class: modules::telemetry::TelemetryModule\n    config: {posthog_host: x}\n",
     ":3: modules[0] modules::telemetry::TelemetryModule: unknown key(s) ['posthog_host']"),
    ("modules:\n  - class: modules::worker::WorkerModule\n    config: {port: 1}\n", "takes no `config:`"),
    ("modules:\n  - class: modules::shell::ExecModule\n    config: {watch: ['*.py']}\n",
     ":3: modules[0] modules::shell::ExecModule: needs an `exec:` list"),
    ("port: abc\nmodules: []\n", "iii-config.yaml:1: port (iii-worker-manager).config: Expected `int`"),
    ("port: 1\nmodulez: []\n", "unknown top-level key(s) ['modulez']"),
])
def test_what_pyiii_cannot_honour_is_an_error_naming_it_and_its_line(text: str, message: str) -> None:
    assert message in error(text)


def test_current_files_still_refuse_a_top_level_port() -> None:
    # `port` is only a legacy key; a file without `class:` entries and without `port` is current.
    assert "unknown top-level key(s) ['prot']" in error("prot: 1\nworkers: []\n")


# --------------------------------------------------------------------------- default file names


def test_config_yaml_is_read_first_then_iii_config_yaml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                        caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.chdir(tmp_path)
    assert find_default() is None
    (tmp_path / "iii-config.yaml").write_text("port: 4001\nmodules: []\n")
    with caplog.at_level(logging.INFO, logger="pyiii.config"):
        assert load(None).listeners()[0].config.port == 4001
    assert "no config.yaml" in caplog.text and "iii-config.yaml" in caplog.text
    (tmp_path / "config.yaml").write_text("workers:\n  - name: iii-worker-manager\n    config: {port: 4002}\n")
    assert load(None).listeners()[0].config.port == 4002
    assert find_default(tmp_path) == tmp_path / "config.yaml"


def test_dev_and_start_read_a_projects_iii_config_yaml(tmp_path: Path) -> None:
    from pyiii.devserver import project_config

    (tmp_path / "iii-config.yaml").write_text("port: 4003\nmodules: []\n")
    assert project_config(tmp_path, None, "0.0.0").listeners()[0].config.port == 4003


def test_cli_config_migrate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                            capsys: pytest.CaptureFixture[str]) -> None:
    from pyiii.cli import main

    monkeypatch.chdir(tmp_path)
    assert main(["config", "migrate"]) == 2
    assert "no config.yaml or iii-config.yaml here" in capsys.readouterr().err
    (tmp_path / "iii-config.yaml").write_text(REDIS_RABBITMQ)
    assert main(["config", "migrate"]) == 0  # finds iii-config.yaml
    assert yaml.safe_load(capsys.readouterr().out) == yaml.safe_load(REDIS_RABBITMQ_WORKERS)
    (tmp_path / "bad.yaml").write_text("modules:\n  - class: modules::kv_server::KvServer\n")
    assert main(["config", "migrate", "bad.yaml"]) == 2
    assert "config error: bad.yaml:2: modules[0] modules::kv_server::KvServer" in capsys.readouterr().err


def test_bridge_classes_map_to_the_bridge_worker_and_adapters() -> None:
    """§A.5.10 and §A.4: BridgeClientModule -> iii-bridge (service_id/service_name accepted, as
    iii 0.10 did), each module's `…::adapters::Bridge` -> `adapter: bridge` with its config."""
    text = (
        "modules:\n"
        "  - class: modules::bridge_client::BridgeClientModule\n"
        "    config:\n"
        "      url: ws://backend:49134\n"
        "      service_id: orders\n"
        "      forward: [{local_function: remote::echo, remote_function: backend::echo}]\n"
        "  - class: modules::state::StateModule\n"
        "    config:\n"
        "      adapter: {class: modules::state::adapters::Bridge, config: {bridge_url: ws://backend:49134}}\n"
        "  - class: modules::queue::QueueModule\n"
        "    config:\n"
        "      adapter: {class: modules::queue::adapters::Bridge, config: {bridge_url: ws://backend:49134}}\n"
    )
    config = parse(text, source="iii-config.yaml")
    kinds = {w.kind: w for w in config.workers}
    assert "iii-bridge" in kinds
    for kind in ("iii-state", "iii-queue"):
        adapter = kinds[kind].config.adapter  # type: ignore[attr-defined]
        if kind == "iii-state":  # the kv workers parse the adapter block into its typed config
            assert type(adapter).__name__ == "BridgeAdapter" and adapter.config.bridge_url == "ws://backend:49134"
        else:  # iii-queue keeps the block for the adapter to read
            assert (adapter.name, adapter.config) == ("bridge", {"bridge_url": "ws://backend:49134"})
