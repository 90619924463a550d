-- The phone an agent takes calls on, chosen at each login: "softphone" (their SIP account) or
-- "browser" (the desk's WebRTC phone, endpoint <sip user>~webrtc). The queue member interface
-- follows it, and so does the membership restored after an Asterisk restart.
ALTER TABLE agent_logins ADD COLUMN phone VARCHAR(16) NOT NULL DEFAULT 'softphone';
