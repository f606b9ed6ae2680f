# ruff: noqa: E501  (the spec's examples, verbatim)
"""The two worked examples of spec/legacy-config-and-motia.md (§A.9, §A.10): each legacy
``iii-config.yaml`` and the ``workers:`` form the spec says it translates to (copied from it)."""

from __future__ import annotations

#: §A.9 input: the Motia 1.0 Python template (StreamModule on 127.0.0.1:${STREAMS_PORT:3114},
#: RestApiModule on 127.0.0.1:3111, OtelModule from the environment, ExecModule running motia).
MOTIA_TEMPLATE = """\
modules:
  - class: modules::stream::StreamModule
    config:
      port: ${STREAMS_PORT:3114}
      host: 127.0.0.1
      adapter:
        class: modules::stream::adapters::KvStore
        config:
          store_method: file_based
          file_path: ./data/streams_store

  - class: modules::state::StateModule
    config:
      adapter:
        class: modules::state::adapters::KvStore
        config:
          store_method: file_based
          file_path: ./data/state_store.db

  - class: modules::api::RestApiModule
    config:
      port: 3111
      host: 127.0.0.1
      default_timeout: 30000
      concurrency_request_limit: 1024
      cors:
        allowed_origins: ["*"]
        allowed_methods: [GET, POST, PUT, DELETE, OPTIONS]

  - class: modules::observability::OtelModule
    config:
      enabled: ${OTEL_ENABLED:true}
      service_name: ${OTEL_SERVICE_NAME:iii-engine-python}
      service_version: ${SERVICE_VERSION:0.2.0}
      service_namespace: ${SERVICE_NAMESPACE:production}
      exporter: ${OTEL_EXPORTER_TYPE:memory}
      endpoint: ${OTEL_EXPORTER_OTLP_ENDPOINT:http://localhost:4317}
      sampling_ratio: 1.0
      memory_max_spans: ${OTEL_MEMORY_MAX_SPANS:10000}
      metrics_enabled: true
      metrics_exporter: ${OTEL_METRICS_EXPORTER:memory}
      metrics_retention_seconds: 3600
      metrics_max_count: 10000
      logs_enabled: ${OTEL_LOGS_ENABLED:true}
      logs_exporter: ${OTEL_LOGS_EXPORTER:memory}
      logs_max_count: ${OTEL_LOGS_MAX_COUNT:1000}
      logs_retention_seconds: ${OTEL_LOGS_RETENTION_SECONDS:3600}
      logs_sampling_ratio: ${OTEL_LOGS_SAMPLING_RATIO:1.0}

  - class: modules::queue::QueueModule
    config:
      adapter:
        class: modules::queue::BuiltinQueueAdapter

  - class: modules::pubsub::PubSubModule
    config:
      adapter:
        class: modules::pubsub::LocalAdapter

  - class: modules::cron::CronModule
    config:
      adapter:
        class: modules::cron::KvCronAdapter

  - class: modules::shell::ExecModule
    config:
      watch:
        - steps/**/*.py
      exec:
        - uv run motia run --dir steps
"""

#: §A.9 output, as printed in the spec.
MOTIA_TEMPLATE_WORKERS = """\
workers:
  - name: iii-stream
    config:
      port: ${STREAMS_PORT:3114}
      host: 127.0.0.1
      adapter:
        name: kv
        config:
          store_method: file_based
          file_path: ./data/streams_store
  - name: iii-state
    config:
      adapter:
        name: kv
        config:
          store_method: file_based
          file_path: ./data/state_store.db
  - name: iii-http
    config:
      port: 3111
      host: 127.0.0.1
      default_timeout: 30000
      concurrency_request_limit: 1024
      cors:
        allowed_origins: ["*"]
        allowed_methods: [GET, POST, PUT, DELETE, OPTIONS]
  - name: iii-observability
    config:
      enabled: ${OTEL_ENABLED:true}
      service_name: ${OTEL_SERVICE_NAME:iii-engine-python}
      service_version: ${SERVICE_VERSION:0.2.0}
      service_namespace: ${SERVICE_NAMESPACE:production}
      exporter: ${OTEL_EXPORTER_TYPE:memory}
      endpoint: ${OTEL_EXPORTER_OTLP_ENDPOINT:http://localhost:4317}
      sampling_ratio: 1.0
      memory_max_spans: ${OTEL_MEMORY_MAX_SPANS:10000}
      metrics_enabled: true
      metrics_exporter: ${OTEL_METRICS_EXPORTER:memory}
      metrics_retention_seconds: 3600
      metrics_max_count: 10000
      logs_enabled: ${OTEL_LOGS_ENABLED:true}
      logs_exporter: ${OTEL_LOGS_EXPORTER:memory}
      logs_max_count: ${OTEL_LOGS_MAX_COUNT:1000}
      logs_retention_seconds: ${OTEL_LOGS_RETENTION_SECONDS:3600}
      logs_sampling_ratio: ${OTEL_LOGS_SAMPLING_RATIO:1.0}
  - name: iii-queue
    config:
      adapter:
        name: builtin
  - name: iii-pubsub
    config:
      adapter:
        name: local
  - name: iii-cron
    config:
      adapter:
        name: kv
  - name: iii-exec
    config:
      watch:
        - steps/**/*.py
      exec:
        - uv run motia run --dir steps
"""

#: §A.10 input: Redis + RabbitMQ production config, with a top-level `port`.
REDIS_RABBITMQ = """\
port: ${III_PORT:49134}
modules:
  - class: modules::api::RestApiModule
    config:
      port: ${HTTP_PORT:3111}
      cors:
        allowed_origins: [https://app.example.com]
        allowed_methods: [GET, POST]
  - class: modules::stream::StreamModule
    config:
      adapter:
        class: modules::stream::adapters::RedisAdapter
        config: {redis_url: "${REDIS_URL:redis://localhost:6379}"}
  - class: modules::state::StateModule
    config:
      adapter:
        class: modules::state::adapters::RedisAdapter
        config: {redis_url: "${REDIS_URL:redis://localhost:6379}"}
  - class: modules::queue::QueueModule
    config:
      queue_configs:
        default: {max_retries: 5, concurrency: 5, type: standard}
        payment: {max_retries: 10, concurrency: 2, type: fifo, message_group_field: transaction_id}
      adapter:
        class: modules::queue::RabbitMQAdapter
        config:
          amqp_url: ${AMQP_URL:amqp://guest:guest@localhost:5672}
          max_attempts: 5
          prefetch_count: 20
          queue_mode: standard
  - class: modules::pubsub::PubSubModule
    config:
      adapter:
        class: modules::pubsub::RedisAdapter
        config: {redis_url: "${REDIS_URL:redis://localhost:6379}"}
  - class: modules::cron::CronModule
    config:
      adapter:
        class: modules::cron::RedisCronAdapter
        config: {redis_url: "${REDIS_URL:redis://localhost:6379}"}
  - class: modules::observability::OtelModule
    config: {enabled: true, exporter: otlp, endpoint: "${OTEL_ENDPOINT:http://otel-collector:4317}", level: warn, format: json}
"""

#: §A.10 output, as printed in the spec.
REDIS_RABBITMQ_WORKERS = """\
workers:
  - name: iii-worker-manager
    config:
      port: ${III_PORT:49134}
  - name: iii-http
    config:
      port: ${HTTP_PORT:3111}
      cors:
        allowed_origins: [https://app.example.com]
        allowed_methods: [GET, POST]
  - name: iii-stream
    config:
      adapter: {name: redis, config: {redis_url: "${REDIS_URL:redis://localhost:6379}"}}
  - name: iii-state
    config:
      adapter: {name: redis, config: {redis_url: "${REDIS_URL:redis://localhost:6379}"}}
  - name: iii-queue
    config:
      queue_configs:
        default: {max_retries: 5, concurrency: 5, type: standard}
        payment: {max_retries: 10, concurrency: 2, type: fifo, message_group_field: transaction_id}
      adapter:
        name: rabbitmq
        config:
          amqp_url: ${AMQP_URL:amqp://guest:guest@localhost:5672}
          max_attempts: 5
          prefetch_count: 20
          queue_mode: standard
  - name: iii-pubsub
    config:
      adapter: {name: redis, config: {redis_url: "${REDIS_URL:redis://localhost:6379}"}}
  - name: iii-cron
    config:
      adapter: {name: redis, config: {redis_url: "${REDIS_URL:redis://localhost:6379}"}}
  - name: iii-observability
    config: {enabled: true, exporter: otlp, endpoint: "${OTEL_ENDPOINT:http://otel-collector:4317}", level: warn, format: json}
"""
