# syntax=docker/dockerfile:1
# One image for every Puhui service; the command chooses the service:
#   docker run IMAGE serve catalog        (identity | catalog | data | feedback)
#   docker run IMAGE migrate catalog      (apply the service's database migrations, then exit)
# Built from uv.lock only (`uv sync --frozen`): the image holds exactly the locked versions.
# The base is pinned by digest; to move it, resolve the tag's current digest
# (`docker buildx imagetools inspect python:3.11-slim-bookworm`) and change PYTHON_IMAGE.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm@sha256:a36c24f9cbdf4fd0f52d67f0823eeac19c2028c637cecc392d97f980d4fec56b

# -- builder: resolve the locked environment into /opt/venv ----------------------------------
FROM ${PYTHON_IMAGE} AS builder
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_NO_CACHE=1 \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/opt/venv
RUN pip install "uv==0.13.9"
WORKDIR /src
# Dependencies first (a layer that changes only with uv.lock), then the project itself.
COPY pyproject.toml uv.lock setup.py README.md ./
RUN uv sync --frozen --no-dev --no-install-project
COPY services ./services
RUN uv sync --frozen --no-dev --no-editable

# -- runtime: the environment and nothing else (no compiler, no uv, no sources, no secrets) --
FROM ${PYTHON_IMAGE} AS runtime
LABEL org.opencontainers.image.title="puhui" \
      org.opencontainers.image.description="Puhui node services (identity, catalog, data, feedback)" \
      org.opencontainers.image.licenses="Apache-2.0"
RUN groupadd --system --gid 10001 puhui \
    && useradd --system --uid 10001 --gid puhui --home-dir /var/lib/puhui \
       --no-create-home --shell /usr/sbin/nologin puhui \
    && install -d -o 10001 -g 10001 -m 0750 /var/lib/puhui
COPY --from=builder /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PUHUI_GRPC_HOST=0.0.0.0 \
    PUHUI_GRPC_PORT=50051 \
    PUHUI_HEALTH_PORT=8081 \
    PUHUI_METRICS_PORT=9464 \
    PUHUI_STATE=/var/lib/puhui
WORKDIR /var/lib/puhui
USER 10001:10001
# gRPC (TLS when PUHUI_TLS_* are set), plaintext health-only gRPC, Prometheus /metrics
EXPOSE 50051 8081 9464
ENTRYPOINT ["puhui"]
CMD ["serve", "catalog"]
