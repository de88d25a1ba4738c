# syntax=docker/dockerfile:1
# One image definition, a target per service:
#   docker build --target user -t bookstore-user .
# Dependencies sit in their own cached layer, installed from the hashed lock of the runtime
# dependencies only (requirements/runtime.txt, written by scripts/lock.sh). The base image is
# pinned to an exact release; pin its digest too where your registry mirror allows.

FROM python:3.12.12-slim-bookworm AS base
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app
RUN useradd --create-home --uid 10001 --shell /usr/sbin/nologin bookstore

FROM base AS deps
COPY requirements/runtime.txt /tmp/requirements.txt
RUN pip install --no-cache-dir --require-hashes -r /tmp/requirements.txt && rm /tmp/requirements.txt

FROM deps AS app
COPY pyproject.toml README.md ./
COPY contracts ./contracts
COPY runtime ./runtime
COPY saga ./saga
COPY user ./user
COPY inventory ./inventory
COPY orders ./orders
COPY client ./client
COPY --chmod=755 compose/entrypoint.sh /usr/local/bin/bookstore-entrypoint
RUN pip install --no-cache-dir --no-deps . && rm -rf /app/* \
 && mkdir -p /keys/private /keys/public && chown -R bookstore /keys
USER 10001:10001
ENTRYPOINT ["bookstore-entrypoint"]
ENV BOOKSTORE_LOG_FORMAT=json BOOKSTORE_DATA_DIR=/tmp/bookstore

FROM app AS user
ENV BOOKSTORE_USER_ADDR=0.0.0.0:50051
EXPOSE 50051
HEALTHCHECK --interval=5s --timeout=4s --start-period=10s --retries=5 \
  CMD ["python", "-m", "runtime.healthcheck", "127.0.0.1:50051"]
CMD ["python", "-m", "user"]

FROM app AS inventory
ENV BOOKSTORE_INVENTORY_ADDR=0.0.0.0:50052
EXPOSE 50052
HEALTHCHECK --interval=5s --timeout=4s --start-period=10s --retries=5 \
  CMD ["python", "-m", "runtime.healthcheck", "127.0.0.1:50052"]
CMD ["python", "-m", "inventory"]

FROM app AS orders
ENV BOOKSTORE_ORDERS_ADDR=0.0.0.0:50053
EXPOSE 50053
HEALTHCHECK --interval=5s --timeout=4s --start-period=10s --retries=5 \
  CMD ["python", "-m", "runtime.healthcheck", "127.0.0.1:50053"]
CMD ["python", "-m", "orders"]

# The storefront: web pages over the services' gRPC, through the client library; no database.
FROM app AS web
ENV BOOKSTORE_WEB_ADDR=0.0.0.0:8080
EXPOSE 8080
HEALTHCHECK --interval=5s --timeout=4s --start-period=10s --retries=5 \
  CMD ["python", "-c", "import urllib.request as r; r.urlopen('http://127.0.0.1:8080/healthz', timeout=3)"]
CMD ["python", "-m", "client.web"]

# One-shot: the development admin's catalogue seed, through the `bookstore` client.
FROM app AS seed
CMD ["bookstore", "seed"]

# One-shot: creates the token signing key pair into the volumes the services mount.
FROM app AS keygen
CMD ["python", "-m", "runtime.keygen", "/keys/private/jwt-ed25519.pem", "/keys/public/jwt-ed25519.pub.pem"]
