"""One typed settings object: defaults, then ``KNN_*`` environment variables, then explicit overrides.

Nothing else in the code reads ``os.environ``; the CLI builds a :class:`Settings` and hands it to
``create_app`` and the storage layer.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

MiB = 1024 * 1024


class Settings(BaseSettings):
    """Server configuration. Every field can be set as ``KNN_<NAME>`` in the environment."""

    model_config = SettingsConfigDict(env_prefix="KNN_", extra="forbid")

    data_dir: Path = Field(Path("var"), description="Folder for the private PostGIS cluster, blobs and secrets.")
    database_url: str | None = Field(
        None, description="SQLAlchemy URL of an existing PostGIS database; unset = private cluster in data_dir/pg."
    )
    blob_dir: Path | None = Field(None, description="Folder of the local blob store; unset = data_dir/blobs.")
    secret_key: str | None = Field(
        None, description="Key that signs Digest nonces; unset = a random key kept in data_dir/secret_key."
    )
    realm: str = Field("khoknongna", description="HTTP authentication realm (part of every Digest HA1).")
    accept_content_length: int = Field(
        100_000_000,
        description="Bytes per POST that Collect is told to stay under (X-OpenRosa-Accept-Content-Length).",
    )
    max_request_bytes: int = Field(
        256 * MiB,
        description="Hard limit of one request body. Larger than accept_content_length because Collect sends "
        "a single file bigger than the split size alone with the XML.",
    )
    max_instance_bytes: int = Field(20 * MiB, description="Largest submission XML accepted.")
    max_form_parts: int = Field(1000, description="Most multipart parts accepted in one POST.")
    nonce_lifetime_s: int = Field(3600, description="Seconds a Digest nonce stays fresh before stale=true.")
    lockout_failures: int = Field(
        10, description="Wrong passwords for one user name within lockout_window_s that lock it; 0 = never lock."
    )
    lockout_window_s: int = Field(900, description="Seconds over which wrong passwords are counted.")
    lockout_s: int = Field(900, description="Seconds a locked user name is refused without checking its password.")
    allow_basic_over_http: bool = Field(
        False, description="Accept Basic credentials over plain http (the OpenRosa spec forbids it)."
    )
    validate_forms: bool = Field(True, description="Run ODK Validate (Java) on every form published.")
    publish_bundled_forms: bool = Field(True, description="Publish the Khok Nong Na forms at start when new.")
    default_project_name: str = Field("Khok Nong Na", description="Name of project 1, served at the root URL.")
    public_url: str | None = Field(
        None, description="Public base URL (https://odk.example.org) printed for Collect and used in QR codes."
    )
    trusted_proxies: int = Field(
        0, description="Number of reverse proxies whose X-Forwarded-Proto/Host headers are trusted."
    )

    @property
    def blobs_path(self) -> Path:
        """Folder of the local blob store."""
        return self.blob_dir if self.blob_dir is not None else self.data_dir / "blobs"

    @property
    def pg_path(self) -> Path:
        """Data folder of the private PostGIS cluster."""
        return self.data_dir / "pg"


def secret_key(settings: Settings) -> str:
    """``settings.secret_key``, or the key kept in ``<data_dir>/secret_key`` (made once, mode 0600)."""
    if settings.secret_key:
        return settings.secret_key
    path = settings.data_dir / "secret_key"
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as f:
        f.write(secrets.token_urlsafe(48))
        f.flush()
        os.fsync(f.fileno())
    return path.read_text().strip()
