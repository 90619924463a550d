"""ccserver: a call-center control server driving a real Asterisk over AMI and ARI."""

__version__ = "0.1.0"
