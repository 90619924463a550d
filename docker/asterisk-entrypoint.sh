#!/bin/sh
# Render /etc/asterisk from the repository's asterisk-conf/ templates and dialplans/ with the
# settings of this container's environment (CCSERVER_PBX_AMI_PORT, CCSERVER_PBX_AMI_SECRET,
# CCSERVER_PBX_ARI_PORT, CCSERVER_PBX_ARI_PASSWORD, CCSERVER_ASTERISK_SIP_PORT, CCSERVER_ASTERISK_RTP_PORT_START,
# CCSERVER_ASTERISK_AMI_BIND_ADDRESS, CCSERVER_ASTERISK_AMI_PERMIT...; a port left at 0 or an empty secret is an
# error), then run Asterisk in the foreground as the asterisk user.
# The templated files are rewritten at every start; the files ccserver generates at run time
# (pjsip_agents.conf, queues_generated.conf, extensions_*.conf...) only when missing: they live
# in the asterisk-etc volume and a restart must not undo what ccserver wrote there.
set -eu
ccserver asterisk render --out /etc/asterisk
# the rendered files are 0640 (secrets inside): Asterisk reads them through its group
chgrp -R asterisk /etc/asterisk
exec asterisk -f -U asterisk -G asterisk -vvv "$@"
