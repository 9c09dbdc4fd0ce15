"""khoknongna.cpu_pressure: the share of time runnable tasks waited for a CPU, from Linux's /proc/pressure/cpu."""

from __future__ import annotations

from pathlib import Path

import pytest

from khoknongna.cpu_pressure import CpuPressure, stalled_us


def pressure_file(path: Path, some_total_us: int) -> Path:
    """A file shaped like /proc/pressure/cpu, whose ``some`` line says ``some_total_us``."""
    path.write_text(
        f"some avg10=1.00 avg60=2.00 avg300=3.00 total={some_total_us}\n"
        "full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n"
    )
    return path


def test_stalled_us_reads_the_some_line_total(tmp_path: Path) -> None:
    assert stalled_us(pressure_file(tmp_path / "cpu", 12_643_983_093)) == 12_643_983_093


def test_stalled_us_is_none_where_the_kernel_does_not_report_pressure(tmp_path: Path) -> None:
    assert stalled_us(tmp_path / "absent") is None


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_share_is_the_time_stalled_over_the_time_passed(tmp_path: Path) -> None:
    clock = Clock()
    path = pressure_file(tmp_path / "cpu", 5_000_000)
    pressure = CpuPressure(window_s=0.5, path=path, clock=clock)
    assert pressure.share() == 0.0  # nothing to compare with yet

    clock.now += 1.0
    pressure_file(path, 5_750_000)  # 0.75 s of the last second

    assert pressure.share() == pytest.approx(0.75)


def test_the_share_is_kept_until_another_window_has_passed(tmp_path: Path) -> None:
    clock = Clock()
    path = pressure_file(tmp_path / "cpu", 0)
    pressure = CpuPressure(window_s=0.5, path=path, clock=clock)
    pressure.share()
    clock.now += 0.5
    pressure_file(path, 400_000)
    assert pressure.share() == pytest.approx(0.8)

    clock.now += 0.1  # too short to judge: the last share stands
    pressure_file(path, 400_000)

    assert pressure.share() == pytest.approx(0.8)


def test_the_share_is_none_without_pressure_information(tmp_path: Path) -> None:
    assert CpuPressure(path=tmp_path / "absent").share() is None
