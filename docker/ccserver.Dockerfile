# syntax=docker/dockerfile:1
# The ccserver production image: the web server and controller, driving the Asterisk of
# asterisk.Dockerfile over AMI/ARI. Build from the repository root (see docker/README.md):
#   docker build -f docker/ccserver.Dockerfile -t ccserver .
# Only the files listed in ccserver.Dockerfile.dockerignore are sent to the builder.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN useradd --system --uid 10001 --user-group --create-home --home-dir /var/lib/ccserver ccserver

WORKDIR /opt/ccserver

# dependencies first: this layer is rebuilt only when pyproject.toml changes
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
 && pip install -r /tmp/requirements.txt \
 && rm /tmp/requirements.txt

# the package plus the directories it finds next to itself: sql/ (migrations), asterisk-conf/,
# dialplans/, ivr_scripts/. Installed in editable mode so those stay "next to the package".
COPY . ./
RUN pip install --no-deps -e . \
 && python -c "import ccserver.adapters.db.database as d; assert (d.default_sql_dir() / 'migrations').is_dir()"

ENV CCSERVER_STORAGE_DATA_DIR=/var/lib/ccserver \
    CCSERVER_WEB_HOST=0.0.0.0 \
    CCSERVER_WEB_PORT=8080 \
    CCSERVER_SQL_DIR=/opt/ccserver/sql

USER ccserver
VOLUME ["/var/lib/ccserver"]
EXPOSE 8080

# /status answers 200 only when the database, AMI, ARI and the scheduler are all up
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=3 \
    CMD python -c "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/status' % os.environ.get('CCSERVER_WEB_PORT', '8080'), timeout=4)"

# --external: the Asterisk described by CCSERVER_PBX_AMI_HOST/_AMI_PORT/_ARI_PORT..., not a private one.
# Pending schema migrations are applied at start (safe with several replicas: they take a lock).
CMD ["ccserver", "serve", "--external"]
