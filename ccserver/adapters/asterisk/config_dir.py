"""Generated configuration for an Asterisk that ccserver did not start (production, docker):
the files go to a directory both share (the Asterisk container's /etc/asterisk volume), then
the server asks Asterisk over AMI to reload them."""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

from ...core.errors import ConfigurationError

# only the files ccserver generates; never a hand-written or rendered one
_GENERATED_NAME = re.compile(r"^(pjsip_agents|queues_[a-z_]+|extensions_[a-z_]+|musiconhold_generated)\.conf$")


class DirectoryConfigWriter:
    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        if not self.directory.is_dir():
            raise ConfigurationError(
                f"asterisk_generated_dir {self.directory} is not a directory", field="asterisk_generated_dir"
            )
        if not os.access(self.directory, os.W_OK):
            raise ConfigurationError(
                f"asterisk_generated_dir {self.directory} is not writable by this user", field="asterisk_generated_dir"
            )

    def write_generated(self, filename: str, text: str) -> Path:
        if not _GENERATED_NAME.match(filename):
            raise ConfigurationError(f"{filename!r} is not a file ccserver generates", file=filename)
        target = self.directory / filename
        fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=f".{filename}.")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.write(text)
            # secrets inside (SIP digests): owner and the directory's group (Asterisk's), not others
            os.chmod(tmp, 0o640)
            try:
                os.chown(tmp, -1, self.directory.stat().st_gid)
            except PermissionError:
                pass  # not a member of that group: the file keeps ours
            os.replace(tmp, target)  # Asterisk never reads a half-written file
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return target

    def read_dialplans(self) -> dict[str, str]:
        """The admins' dialplan files Asterisk reads (`dialplans/` of the shared directory)."""
        from .instance import read_dialplan_dir

        return read_dialplan_dir(self.directory / "dialplans")

    def write_dialplans(self, files: dict[str, str]) -> None:
        from .instance import write_dialplan_dir

        write_dialplan_dir(self.directory / "dialplans", files)
