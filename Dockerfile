# syntax=docker/dockerfile:1
# One image definition, a target per service:
#   docker build --target user -t bookstore-user .
# Dependencies sit in their own cached layer; only runtime dependencies are installed.

FROM python:3.12-slim AS base
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app
RUN useradd --create-home --uid 10001 --shell /usr/sbin/nologin bookstore

FROM base AS deps
COPY pyproject.toml ./
# The project's runtime dependencies only (no dev/test tools), read from pyproject.toml.
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
      > /tmp/requirements.txt \
 && pip install -r /tmp/requirements.txt

FROM deps AS app
COPY pyproject.toml README.md ./
COPY contracts ./contracts
COPY runtime ./runtime
COPY saga ./saga
COPY user ./user
COPY inventory ./inventory
COPY orders ./orders
COPY client ./client
RUN pip install --no-deps . && rm -rf /app/* \
 && mkdir -p /keys/private /keys/public && chown -R bookstore /keys
USER bookstore
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

# One-shot: the development admin's catalogue seed, through the `bookstore` client.
FROM app AS seed
CMD ["bookstore", "seed"]

# One-shot: creates the token signing key pair into the volumes the services mount.
FROM app AS keygen
CMD ["python", "-m", "runtime.keygen", "/keys/private/jwt-ed25519.pem", "/keys/public/jwt-ed25519.pub.pem"]
