"""Fakes of the ports (`ccserver.core.ports`) for unit tests."""
