"""One typed settings object: defaults, then ``KNN_*`` environment variables, then explicit overrides.

Nothing else in the code reads ``os.environ``; the CLI builds a :class:`Settings` and hands it to
``create_app`` and the storage layer.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from khoknongna.photos import PhotoRules
from khoknongna.spatial.rules import (
    AreaRules,
    CoverageRules,
    EvidenceRules,
    OverlapRules,
    PartsRules,
    TravelRules,
    ValidityRules,
)

MiB = 1024 * 1024


class Settings(BaseSettings):
    """Server configuration. Every field can be set as ``KNN_<NAME>`` in the environment."""

    model_config = SettingsConfigDict(env_prefix="KNN_", extra="forbid")

    data_dir: Path = Field(Path("var"), description="Folder for the private PostGIS cluster, blobs and secrets.")
    database_url: str | None = Field(
        None, description="SQLAlchemy URL of an existing PostGIS database; unset = private cluster in data_dir/pg."
    )
    blob_dir: Path | None = Field(None, description="Folder of the local blob store; unset = data_dir/blobs.")
    blob_url: str | None = Field(
        None,
        description="Where blobs (photos, forms) are kept: unset = the local folder blob_dir; "
        "s3://bucket[/prefix]?endpoint=host:port&secure=false[&region=…] = an S3-compatible store (MinIO).",
    )
    s3_access_key: str | None = Field(None, description="Access key of the S3 store (never put it in the URL).")
    s3_secret_key: SecretStr | None = Field(None, description="Secret key of the S3 store.")
    s3_timeout_s: float = Field(
        30,
        gt=0,
        description="Seconds the S3 store has to accept a connection or to answer one request; a slower store "
        "makes the upload fail with 503 instead of holding a worker.",
    )
    secret_key: str | None = Field(
        None, description="Key that signs Digest nonces; unset = a random key kept in data_dir/secret_key."
    )
    realm: str = Field("khoknongna", description="HTTP authentication realm (part of every Digest HA1).")
    accept_content_length: int = Field(
        100_000_000,
        description="Bytes per POST that Collect is told to stay under (X-OpenRosa-Accept-Content-Length); "
        "also the largest single file accepted.",
    )
    max_request_bytes: int = Field(
        256 * MiB,
        description="Hard limit of one request body. Larger than accept_content_length because a POST holds "
        "the instance XML and multipart framing besides a file of up to accept_content_length.",
    )
    max_instance_bytes: int = Field(20 * MiB, description="Largest submission XML accepted.")
    max_form_parts: int = Field(1000, description="Most multipart parts accepted in one POST.")
    nonce_lifetime_s: int = Field(3600, description="Seconds a Digest nonce stays fresh before stale=true.")
    lockout_failures: int = Field(
        10, description="Wrong passwords for one user name within lockout_window_s that lock it; 0 = never lock."
    )
    lockout_window_s: int = Field(900, description="Seconds over which wrong passwords are counted.")
    lockout_s: int = Field(900, description="Seconds a locked user name is refused without checking its password.")
    session_hours: int = Field(12, description="Hours a web sign-in lasts without being used.")
    vendor_dir: Path = Field(
        Path(__file__).resolve().parents[1] / "node_modules",
        description="The node_modules folder `npm ci` filled from package-lock.json; the map page loads "
        "maplibre-gl from it (served at /vendor/maplibre-gl/).",
    )
    basemap_url: str | None = Field(
        None,
        description="XYZ raster tile URL template of the map's base map (https://tile.example.org/{z}/{x}/{y}.png); "
        "unset = plots and submissions on a plain background.",
    )
    basemap_attribution: str | None = Field(
        None, description="Attribution shown on the map for the base map (e.g. © OpenStreetMap contributors)."
    )
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
    checks_worker: bool = Field(
        True, description="serve also runs the worker that computes spatial checks after ingest."
    )
    worker_concurrency: int = Field(
        2,
        ge=1,
        le=4,
        description="Jobs the checks and audit worker runs at once. A job spends much of its time waiting on "
        "PostgreSQL, so two keep both cores of a small machine busy after a rush.",
    )
    worker_give_way_pressure: float = Field(
        0.7,
        ge=0,
        le=1,
        description="The checks and audit worker holds each job (up to 5 s) while runnable tasks waited for a CPU "
        "this share of the last half second or more (Linux's /proc/pressure/cpu), so that a rush of submissions "
        "gets the CPUs first. 0: never holds a job.",
    )
    # Spatial checks (docs/spatial.md gives the reasons for each default).
    area_tolerance: dict[str, tuple[float, float]] = Field(
        default_factory=lambda: dict(AreaRules().tolerance),
        description='Allowed (below, above) deviation per size class as fractions, JSON: {"1": [0.15, 0.15], ...}.',
    )
    spike_angle_deg: float = Field(ValidityRules.spike_angle_deg, description="A boundary corner sharper is a spike.")
    overlap_min_area_m2: float = Field(OverlapRules.min_area_m2, description="Overlaps smaller (m²) are ignored.")
    overlap_min_share: float = Field(
        OverlapRules.min_share, description="Overlaps below this share of the smaller plot (0-1) are ignored."
    )
    overlap_min_width_m: float = Field(
        OverlapRules.min_width_m, description="Overlaps thinner on average (m) are slivers along a shared bund."
    )
    parts_tolerance: float = Field(
        PartsRules.tolerance, description="Allowed deviation of each use's share from 30:30:30:10 (0.10 = 10 points)."
    )
    evidence_margin_m: float = Field(
        EvidenceRules.margin_m, description="Metres beyond a point's own accuracy it may lie outside its plot."
    )
    report_deadline_day: int = Field(
        CoverageRules.deadline_day, description="Day of the month activity reports are due (seed 002: the 20th)."
    )
    # Audit signals (docs/audit.md gives the reasons for each default).
    audit_max_speed_kmh: float = Field(
        TravelRules.max_speed_kmh, description="Faster travel between one collector's submissions is impossible."
    )
    audit_min_travel_m: float = Field(
        TravelRules.min_distance_m, description="Shorter jumps between submissions are never impossible travel."
    )
    audit_phash_max_distance: int = Field(
        PhotoRules.max_distance, ge=0, le=15, description="Most differing pHash bits (of 64) of near-duplicate photos."
    )
    audit_exif_max_age_days: int = Field(
        PhotoRules.max_age_days, description="A photo taken more days before its reporting period is old."
    )
    audit_exif_max_distance_m: float = Field(
        PhotoRules.max_distance_m, description="A photo's EXIF position farther outside its plot (m) is far."
    )
    audit_reaudit_window_s: float = Field(
        30,
        ge=0,
        description="Seconds a submission named by a newer one waits before it is audited again; newer ones"
        " naming it meanwhile share that one audit.",
    )

    @field_validator("blob_url")
    @classmethod
    def _blob_url_scheme(cls, value: str | None) -> str | None:
        if value and not value.startswith("s3://"):
            raise ValueError("KNN_BLOB_URL must start with s3:// (leave it unset for the local folder)")
        if value and "@" in value.split("?")[0]:
            raise ValueError("KNN_BLOB_URL must not hold credentials; use KNN_S3_ACCESS_KEY and KNN_S3_SECRET_KEY")
        return value or None

    @field_validator("basemap_url")
    @classmethod
    def _basemap_template(cls, value: str | None) -> str | None:
        placeholders = all(k in (value or "") for k in ("{z}", "{x}", "{y}"))
        if value and (not value.startswith(("https://", "http://")) or not placeholders):
            raise ValueError("KNN_BASEMAP_URL must be an http(s) URL template with {z}, {x} and {y}")
        return value or None

    @property
    def blobs_path(self) -> Path:
        """Folder of the local blob store."""
        return self.blob_dir if self.blob_dir is not None else self.data_dir / "blobs"

    @property
    def staging_path(self) -> Path:
        """Folder where uploads to an S3 store are staged (on local disk) before they are sent."""
        return self.data_dir / "staging"

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
