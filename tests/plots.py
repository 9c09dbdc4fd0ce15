"""The plot survey as a field developer fills it: a realistic instance, and the bundled form's file."""

from __future__ import annotations

from pathlib import Path

PLOT_SURVEY = Path(__file__).resolve().parents[1] / "forms_xlsform" / "plot_survey.xlsx"
PLOT_SURVEY_VERSION = "2026120501"

# The plot's address as the coded selects answer it (geothai codes): Khon Kaen, Mueang Khon Kaen, Sila.
PROVINCE, AMPHOE, TAMBON = "40", "4001", "400114"

# A 1-rai plot (40 m x 40 m = 1,600 m²) near Khon Kaen: 40 m is 0.0003597° of latitude and, at 16.44° N,
# 0.0003746° of longitude.
LAT, LON = 16.4419, 102.8360
DLAT, DLON = 0.0003597, 0.0003746


def ring(lat: float, lon: float, dlat: float, dlon: float, accuracy: float = 3.5) -> str:
    corners = [(lat, lon), (lat + dlat, lon), (lat + dlat, lon + dlon), (lat, lon + dlon), (lat, lon)]
    return ";".join(f"{a:.7f} {b:.7f} 162.0 {accuracy}" for a, b in corners)


def plot_xml(
    instance_id: str,
    *,
    photos: tuple[str, ...] = (),
    overview: str = "1790000000001.jpg",
    owner: str = "นางสมศรี ใจดี",
    boundary: str | None = None,
    deprecated_id: str | None = None,
    version: str = PLOT_SURVEY_VERSION,
    form_id: str = "plot_survey",
    plot_id: str = "3f9c2a4e-8d1b-4c6a-9e5f-2b7d0c1a4e83",
    resurvey_of_version: int | None = None,
    tambon: str = TAMBON,
    learning_centre: bool = False,
) -> bytes:
    """A finalized plot survey instance as Collect writes it: a 1-rai plot, a pond and a paddy, a swale.

    The survey registers a new plot: ``meta/entity`` creates the ``plots`` entity ``plot_id``; with
    ``resurvey_of_version`` it is a re-survey of that registered plot, made from that ``__version`` of it.
    ``tambon`` (6 digits) places it; its amphoe and province are the code's prefixes. ``learning_centre``
    designates it a learning centre of its district.
    """
    boundary = boundary or ring(LAT, LON, DLAT, DLON)
    pond = ring(LAT + 0.00005, LON + 0.00005, 0.0001, 0.0001)
    paddy = ring(LAT + 0.0002, LON + 0.0002, 0.0001, 0.0001)
    swale = f"{LAT + 0.00001:.7f} {LON + 0.00001:.7f} 161.0 4.0;{LAT + 0.0003:.7f} {LON + 0.0003:.7f} 160.0 4.0"
    photo_rows = "".join(
        f"<photos><photo>{p}</photo><photo_caption>มุมที่ {i}</photo_caption></photos>" for i, p in enumerate(photos, 1)
    )
    deprecated = f"<deprecatedID>{deprecated_id}</deprecatedID>" if deprecated_id else ""
    label = f"{owner} – ม.5 บ้านหนองแวง ต.ศิลา – 1 ไร่"
    if resurvey_of_version is None:
        kind = "<survey_kind>new</survey_kind><existing_plot/>"
        flags = 'create="true" update="false" baseVersion=""'
    else:
        kind = f"<survey_kind>resurvey</survey_kind><existing_plot>{plot_id}</existing_plot>"
        flags = f'create="false" update="true" baseVersion="{resurvey_of_version}"'
    xml = (
        f'<data xmlns:jr="http://openrosa.org/javarosa" xmlns:orx="http://openrosa.org/xforms" id="{form_id}" '
        f'version="{version}"><start>2026-11-20T08:01:02.000+07:00</start><end>2026-11-20T08:40:11.000+07:00</end>'
        "<today>2026-11-20</today><deviceid>collect:TESTDEVICE0000001</deviceid><username>nopparat</username>"
        f"{kind}<new_plot_id>{plot_id}</new_plot_id><plot_id>{plot_id}</plot_id>"
        "<programme>covid_loan</programme><model>HLM</model><size_class>1</size_class><other_rai/><other_ngan/>"
        f"<other_wa/><size_text>1</size_text><learning_centre>{'yes' if learning_centre else 'no'}</learning_centre>"
        f"<owner><owner_name>{owner}</owner_name><owner_phone>0812345678</owner_phone>"
        "<house_no>45/1</house_no><village_no>5</village_no><village_name>บ้านหนองแวง</village_name>"
        f"<province>{tambon[:2]}</province><amphoe>{tambon[:4]}</amphoe><tambon>{tambon}</tambon>"
        "<province_name>ขอนแก่น</province_name><amphoe_name>เมืองขอนแก่น</amphoe_name><tambon_name>ศิลา</tambon_name>"
        f"</owner><plot_label>{label}</plot_label>"
        f"<boundary>{boundary}</boundary><location>{LAT:.7f} {LON:.7f} 162.0 4.8</location>"
        f"<has_parts>yes</has_parts><parts><part_type>pond</part_type><part_shape>{pond}</part_shape></parts>"
        f"<parts><part_type>paddy</part_type><part_shape>{paddy}</part_shape></parts>"
        f"<has_swales>yes</has_swales><swales><swale_line>{swale}</swale_line></swales><has_bunds>no</has_bunds>"
        f"<photo_overview>{overview}</photo_overview><has_more_photos>{'yes' if photos else 'no'}</has_more_photos>"
        f"{photo_rows}<notes/><meta>"
        f'<entity dataset="plots" {flags} trunkVersion="" branchId="" id="{plot_id}"><label>{label}</label></entity>'
        f"<instanceID>{instance_id}</instanceID>{deprecated}<instanceName>{label}</instanceName></meta></data>"
    )
    return xml.encode("utf-8")
