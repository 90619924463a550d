"""The browser phone: a WebRTC PJSIP endpoint per agent who asks for it (SIP over a secure
WebSocket, DTLS-SRTP, ICE), its credentials handed to the agent's own page only, per web session."""
