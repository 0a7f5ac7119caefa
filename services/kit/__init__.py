"""The shared service kit: every Puhui service imports these modules, none copies them.

- config: typed settings from the environment · server: bootstrap, health, reflection,
  signals, drain · interceptors: errors → statuses, RED metrics, spans, caller identity
- errors · ids · pagination (AIP-158 page tokens)
- db · migrations (Alembic per service) · redis
- kafka (the one kafka-python module) · outbox (transactional outbox + relay) ·
  inbox (apply-once consumer, dead letters) · batching (a whole poll in one transaction)
- auth (Principal, the verifier seam) · tokens (offline JWT verifier, authorize) ·
  trust (hub-signed key sets followed from Kafka) · tls (TLS/mTLS credentials, certificates)
- metrics (the catalogue) · metrics_docs · promql · tracing · logs (JSON lines) ·
  grpc_client (client interceptor: deadline, span, metrics) · nodestatus (`puhui node status`)
- testing (pytest plugin: real PostgreSQL/Kafka/Redis fixtures, running apps)
- reflection (server reflection with the protos' comments) · validation (every request's
  strings, times, integers and sizes checked) · admission (lanes: no starvation) · policy
  (declared access per RPC) · gateway (builds, documents and starts the HTTP gateway, gateway/)

No module here does I/O at import time.
"""
