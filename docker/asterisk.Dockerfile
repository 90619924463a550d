# syntax=docker/dockerfile:1
# Asterisk from Debian sid, configured from the same asterisk-conf/ templates as the private
# instance that `ccserver serve` runs. The configuration is rendered when the container STARTS
# (docker/asterisk-entrypoint.sh), from the CCSERVER_* environment: secrets are never baked into
# the image, and module paths are those of this very Asterisk. Build from the repository root:
#   docker build -f docker/asterisk.Dockerfile -t ccserver-asterisk .
FROM debian:sid

ENV DEBIAN_FRONTEND=noninteractive \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PATH=/opt/venv/bin:$PATH

# the French core sounds (sounds/fr): queues, IVR scripts and campaigns in French
# /etc/asterisk emptied: it holds only what `ccserver asterisk render` writes (as the private
# instance does), never Debian's ~100 sample files (the asterisk-etc volume starts from it)
RUN apt-get update \
 && apt-get install -y --no-install-recommends asterisk asterisk-core-sounds-fr-gsm asterisk-core-sounds-fr \
        python3 python3-venv ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && find /etc/asterisk -mindepth 1 -delete

WORKDIR /opt/ccserver

# ccserver itself (for `ccserver asterisk render`), in a virtualenv beside Debian's Python
COPY pyproject.toml ./
RUN python3 -m venv /opt/venv \
 && python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
 && pip install -r /tmp/requirements.txt \
 && rm /tmp/requirements.txt
COPY . ./
RUN pip install --no-deps -e .

COPY docker/asterisk-entrypoint.sh /usr/local/bin/asterisk-entrypoint
RUN chmod 0755 /usr/local/bin/asterisk-entrypoint

# SIP and the RTP range (CCSERVER_ASTERISK_SIP_PORT, CCSERVER_ASTERISK_RTP_PORT_START/_COUNT must match);
# AMI (5038) and ARI (8088) stay on the compose network
EXPOSE 5060/udp 10000-10199/udp 5038/tcp 8088/tcp

HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
    CMD asterisk -rx "core waitfullybooted" | grep -q "fully booted"

ENTRYPOINT ["asterisk-entrypoint"]
