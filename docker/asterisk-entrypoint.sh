#!/bin/sh
# Render /etc/asterisk from the repository's asterisk-conf/ templates and dialplans/ with the
# settings of this container's environment (CCSERVER_AMI_PORT, CCSERVER_AMI_SECRET,
# CCSERVER_ARI_PORT, CCSERVER_ARI_PASSWORD, CCSERVER_SIP_PORT, CCSERVER_RTP_PORT_START...),
# then run Asterisk in the foreground as the asterisk user.
set -eu
ccserver asterisk render --out /etc/asterisk
exec asterisk -f -U asterisk -G asterisk -vvv "$@"
