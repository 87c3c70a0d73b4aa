"""Operations: request ids and JSON logs, Prometheus metrics, OpenTelemetry tracing."""
