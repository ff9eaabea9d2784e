"""Settings of one running web service (``geoverify serve``)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

__all__ = ["Settings"]

MB = 1024 * 1024


@dataclass(frozen=True)
class Settings:
    """Where the store is and the limits the service keeps.

    Parameters
    ----------
    workspace
        The workspace folder (SQLite file by default, evidence photos, dispatch packs).
    database_url
        A PostgreSQL + PostGIS URL instead of the workspace's SQLite file.
    https
        The service is reached over HTTPS (cookies are then ``Secure``). ``geoverify serve``
        sets it when it is given a certificate.
    max_request_bytes
        Largest request body accepted (a batch file, a workbook, a set of photos).
    max_photo_bytes
        Largest single photo.
    max_photos
        Most photos in one request.
    max_form_fields
        Most form fields in one request.
    """

    workspace: Path
    database_url: str | None = None
    https: bool = False
    max_request_bytes: int = 100 * MB
    max_photo_bytes: int = 25 * MB
    max_photos: int = 10
    max_form_fields: int = 200
    title: str = "福果镇禁种铲毒靶标核查"

    def to_env(self) -> str:
        """These settings as text for an environment variable (worker processes read it)."""
        doc = asdict(self)
        doc["workspace"] = str(self.workspace)
        return json.dumps(doc, ensure_ascii=False)

    @classmethod
    def from_env(cls, text: str) -> Settings:
        doc = json.loads(text)
        doc["workspace"] = Path(doc["workspace"])
        return cls(**doc)
