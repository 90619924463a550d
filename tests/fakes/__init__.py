"""Fakes of the ports (`ccserver.core.ports`) and of the outside world, shared by every test package.

- `pbx.FakePbx`: the PBX port (`PbxCommands`), recording commands, failures injected on demand.
- `stasis`: the IVR engine's StasisCommands port.
- `ami_server.FakeAmi`: a fake AMI TCP server, for tests of the AMI adapter itself.
"""

from .pbx import Command, FakePbx

__all__ = ["Command", "FakePbx"]
