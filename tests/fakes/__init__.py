"""In-memory stand-ins for the outside world, shared by every test package.

- `pbx.FakePbx`: the PBX port (`ccserver.core.ports.PbxCommands`), recording commands.
- `ami_server.FakeAmi`: a fake AMI TCP server, for tests of the AMI adapter itself.
"""
from .pbx import Command, FakePbx

__all__ = ["Command", "FakePbx"]
