"""The catalogue of problems a client can be told about, with stable codes and messages in Thai and English.

Domain code raises :class:`Problem`; the HTTP layer renders it once, as the OpenRosa response envelope on
OpenRosa routes and as JSON elsewhere. Codes are ``<http status>.<number>`` and never change meaning.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ProblemType:
    """One kind of problem: ``code`` like ``"409.1"``, the HTTP status, and message templates."""

    code: str
    status: int
    en: str
    th: str


class Problem(Exception):
    """A problem with a request that the client can act on.

    ``details`` fill the message templates (``{form_id}`` and the like) and are kept for logs and JSON.
    """

    def __init__(self, kind: ProblemType, **details: Any) -> None:
        self.kind = kind
        self.details = details
        super().__init__(self.message_en)

    @property
    def status(self) -> int:
        return self.kind.status

    @property
    def code(self) -> str:
        return self.kind.code

    @property
    def message_en(self) -> str:
        return self.kind.en.format(**self.details)

    @property
    def message_th(self) -> str:
        return self.kind.th.format(**self.details)

    @property
    def message(self) -> str:
        """Thai first, then English: field developers read Thai, support staff often English."""
        return f"{self.message_th} / {self.message_en}"


def _p(code: str, en: str, th: str) -> ProblemType:
    return ProblemType(code=code, status=int(code.split(".")[0]), en=en, th=th)


# 400: the request cannot be read
MULTIPART_MALFORMED = _p(
    "400.1",
    "The upload could not be read as multipart/form-data ({detail}). Send it again from ODK Collect.",
    "อ่านข้อมูลที่ส่งมาไม่ได้ ({detail}) กรุณาส่งใหม่อีกครั้งจาก ODK Collect",
)
XML_SUBMISSION_FILE_MISSING = _p(
    "400.2",
    "Required multipart field xml_submission_file is missing.",
    "ไม่พบไฟล์แบบฟอร์ม (xml_submission_file) ในข้อมูลที่ส่งมา",
)
XML_MALFORMED = _p(
    "400.3",
    "The submission XML could not be read: {detail}.",
    "อ่านไฟล์ XML ของแบบฟอร์มที่ส่งมาไม่ได้: {detail}",
)
XML_FORBIDDEN_CONSTRUCT = _p(
    "400.4",
    "The XML contains a document type declaration (DTD) or entities, which are not accepted.",
    "ไฟล์ XML มีการประกาศ DTD หรือ entity ซึ่งระบบไม่รับ",
)
FORM_ID_MISSING = _p(
    "400.5",
    "The submission XML has no form id: its root element <{root}> needs an id attribute.",
    "ไฟล์ XML ที่ส่งมาไม่ระบุรหัสแบบฟอร์ม (แอตทริบิวต์ id ของ <{root}>)",
)
INSTANCE_ID_REQUIRED = _p(
    "400.6",
    "An encrypted submission must carry meta/instanceID.",
    "แบบฟอร์มที่เข้ารหัสต้องมี meta/instanceID",
)
VALUE_TOO_LONG = _p(
    "400.7",
    "The {what} in the submission XML is {length} characters long; this server accepts at most {limit}.",
    "{what} ในไฟล์ XML ที่ส่งมายาว {length} ตัวอักษร เกินกว่าที่เซิร์ฟเวอร์รับได้ ({limit} ตัวอักษร)",
)
BAD_PARAMETER = _p(
    "400.8",
    "The parameter '{name}' must be {expected}, not '{value}'.",
    "พารามิเตอร์ '{name}' ต้องเป็น {expected} ไม่ใช่ '{value}'",
)
PART_NAME_REFUSED = _p(
    "400.9",
    "The upload has a file named '{name}', which is not accepted as a file name ({reason}). Nothing was saved. "
    "Rename the file, or attach it again in the form, and send again.",
    "ไฟล์ที่ส่งมาชื่อ '{name}' ใช้เป็นชื่อไฟล์ไม่ได้ ({reason}) ยังไม่มีการบันทึกข้อมูลใด กรุณาเปลี่ยนชื่อไฟล์หรือแนบไฟล์ในแบบฟอร์มใหม่ แล้วส่งอีกครั้ง",
)
XML_SUBMISSION_FILE_REPEATED = _p(
    "400.10",
    "The upload has more than one xml_submission_file part; send one submission per upload. Nothing was saved.",
    "ข้อมูลที่ส่งมามีไฟล์แบบฟอร์ม (xml_submission_file) มากกว่าหนึ่งไฟล์ กรุณาส่งทีละแบบฟอร์ม ยังไม่มีการบันทึกข้อมูลใด",
)
ODATA_FILTER = _p(
    "400.11",
    "The OData query could not be read: {detail}.",
    "อ่านคำค้น OData ไม่ได้: {detail}",
)
DEPRECATED_ID_REQUIRED = _p(
    "400.12",
    "An edit sent with PUT must name the version it replaces in meta/deprecatedID; this one names none.",
    "การแก้ไขที่ส่งด้วย PUT ต้องระบุรุ่นที่ถูกแทนที่ใน meta/deprecatedID แต่ข้อมูลนี้ไม่ได้ระบุ",
)
PARAMETER_MISSING = _p(
    "400.13",
    "The request needs '{name}'; it has none.",
    "คำขอต้องมี '{name}' แต่ไม่มี",
)
ENTITY_INVALID = _p(
    "400.14",
    "The entity is invalid: {reason}.",
    "ข้อมูลรายการไม่ถูกต้อง: {reason}",
)

# 401/403: who may do what
AUTH_REQUIRED = _p(
    "401.1",
    "Sign in with your user name and password for this server.",
    "กรุณาเข้าสู่ระบบด้วยชื่อผู้ใช้และรหัสผ่านของเซิร์ฟเวอร์นี้",
)
AUTH_FAILED = _p(
    "401.2",
    "The user name or password is not correct.",
    "ชื่อผู้ใช้หรือรหัสผ่านไม่ถูกต้อง",
)
BASIC_NEEDS_HTTPS = _p(
    "401.3",
    "Basic authentication is only accepted over HTTPS; use Digest or an app-user link.",
    "รับการยืนยันตัวตนแบบ Basic ผ่าน HTTPS เท่านั้น กรุณาใช้ Digest หรือลิงก์ผู้ใช้แอป",
)
USERS_ONLY = _p(
    "403.2",
    "This needs a user account; app-user links only serve ODK Collect.",
    "ต้องใช้บัญชีผู้ใช้ ลิงก์ผู้ใช้แอปใช้ได้กับ ODK Collect เท่านั้น",
)
ROLE_FORBIDDEN = _p(
    "403.3",
    "Your role ({role}) may not {action}.",
    "บทบาทของคุณ ({role}) ไม่มีสิทธิ์{action_th}",
)
OUTSIDE_AREA = _p(
    "403.4",
    "Area {asked} is outside your area ({scope}).",
    "พื้นที่ {asked} อยู่นอกพื้นที่ของคุณ ({scope})",
)
SUBMISSION_OUTSIDE_AREA = _p(
    "403.6",
    "Submission {instance_id} of form '{form_id}' is outside your area ({scope}).",
    "ข้อมูล {instance_id} ของแบบฟอร์ม '{form_id}' อยู่นอกพื้นที่ของคุณ ({scope})",
)
ENTITY_OUTSIDE_AREA = _p(
    "403.7",
    "Entity '{uuid}' of the entity list '{name}' is outside your area ({scope}).",
    "รายการ '{uuid}' ใน '{name}' อยู่นอกพื้นที่ของคุณ ({scope})",
)
CSRF_FAILED = _p(
    "403.5",
    "The form's security token is missing or out of date: reload the page and try again.",
    "โทเค็นความปลอดภัยของแบบฟอร์มไม่มีหรือหมดอายุ กรุณาโหลดหน้าใหม่แล้วลองอีกครั้ง",
)
AUTH_LOCKED = _p(
    "401.4",
    "Too many wrong passwords for '{username}': signing in is blocked until {until} Thailand time (about "
    "{minutes} minutes). Ask your supervisor if you have forgotten the password.",
    "ใส่รหัสผ่านของ '{username}' ผิดหลายครั้งเกินไป ระงับการเข้าสู่ระบบจนถึงเวลา {until} น. (อีกประมาณ {minutes} นาที) "
    "หากลืมรหัสผ่านกรุณาติดต่อผู้ดูแล",
)
TOKEN_INVALID = _p(
    "401.5",
    "The session token is not valid: it has expired or been ended. Sign in again (POST /v1/sessions).",
    "โทเค็นการเข้าสู่ระบบใช้ไม่ได้ เพราะหมดอายุหรือถูกยกเลิกแล้ว กรุณาเข้าสู่ระบบใหม่ (POST /v1/sessions)",
)
KEY_INVALID = _p(
    "403.1",
    "This app-user link is not valid or has been revoked. Ask your supervisor for a new QR code.",
    "ลิงก์ผู้ใช้แอปนี้ใช้ไม่ได้หรือถูกยกเลิกแล้ว กรุณาขอ QR code ใหม่จากผู้ดูแล",
)

# 404: what is asked for is not here
PROJECT_NOT_FOUND = _p(
    "404.1",
    "Project {project_id} does not exist on this server.",
    "ไม่พบโครงการหมายเลข {project_id} บนเซิร์ฟเวอร์นี้",
)
FORM_NOT_FOUND = _p(
    "404.2",
    "Form '{form_id}' is not on this server. Check the server address in ODK Collect.",
    "ไม่พบแบบฟอร์ม '{form_id}' บนเซิร์ฟเวอร์นี้ กรุณาตรวจสอบที่อยู่เซิร์ฟเวอร์ใน ODK Collect",
)
FORM_VERSION_NOT_FOUND = _p(
    "404.3",
    "Form '{form_id}' has no version '{version}' on this server. Download the form again (Get Blank Form) "
    "and fill it in again.",
    "แบบฟอร์ม '{form_id}' ไม่มีรุ่น '{version}' บนเซิร์ฟเวอร์นี้ กรุณาดาวน์โหลดแบบฟอร์มใหม่แล้วกรอกอีกครั้ง",
)
DEPRECATED_NOT_FOUND = _p(
    "404.4",
    "This is an edit of submission {deprecated_id}, which is not on this server; send the original first.",
    "ข้อมูลนี้เป็นการแก้ไขของ {deprecated_id} ซึ่งไม่มีบนเซิร์ฟเวอร์ กรุณาส่งข้อมูลต้นฉบับก่อน",
)
MEDIA_NOT_FOUND = _p(
    "404.5",
    "Form '{form_id}' has no media file '{name}' on this server.",
    "แบบฟอร์ม '{form_id}' ไม่มีไฟล์ประกอบ '{name}' บนเซิร์ฟเวอร์นี้",
)
PLOT_NOT_FOUND = _p(
    "404.7",
    "There is no registered plot {plot} in project {project_id}.",
    "ไม่พบแปลง {plot} ในทะเบียนแปลงของโครงการ {project_id}",
)
SUBMISSION_NOT_FOUND = _p(
    "404.8",
    "Form '{form_id}' has no submission {instance_id}.",
    "แบบฟอร์ม '{form_id}' ไม่มีข้อมูล {instance_id}",
)
SIGNAL_NOT_FOUND = _p(
    "404.9",
    "Submission {instance_id} has no raised signal '{rule}' to explain.",
    "ข้อมูล {instance_id} ไม่มีสัญญาณ '{rule}' ที่ต้องชี้แจง",
)
DATASET_NOT_FOUND = _p(
    "404.6",
    "There is no entity list '{name}' in this project.",
    "ไม่พบรายการ '{name}' ในโครงการนี้",
)
REPORT_NOT_FOUND = _p(
    "404.10",
    "District {district} has not submitted revision {revision} of its report for {month}.",
    "อำเภอ {district} ยังไม่ได้ส่งรายงานประจำเดือน {month} ครั้งที่ {revision}",
)
ENTITY_NOT_FOUND = _p(
    "404.11",
    "There is no entity '{uuid}' in the entity list '{name}' (or it is outside your area).",
    "ไม่พบรายการ '{uuid}' ใน '{name}' (หรืออยู่นอกพื้นที่ของคุณ)",
)

# 409: conflicts with what is stored
SUBMISSION_CONFLICT = _p(
    "409.1",
    "A submission with instanceID {instance_id} already exists for form '{form_id}' with different content. "
    "Nothing was changed.",
    "มีข้อมูลรหัส {instance_id} ของแบบฟอร์ม '{form_id}' อยู่แล้วแต่เนื้อหาต่างกัน ระบบไม่ได้เปลี่ยนแปลงข้อมูลใด",
)
EDIT_OUTDATED = _p(
    "409.2",
    "Submission {instance_id} has been edited since this copy was made; the copy you edited is out of date.",
    "ข้อมูล {instance_id} ถูกแก้ไขไปแล้ว สำเนาที่ท่านแก้ไขเป็นฉบับเก่า",
)
FORM_VERSION_EXISTS = _p(
    "409.4",
    "Form '{form_id}' already has a version '{version}' with different content. Raise the version (settings "
    "sheet) and publish again, so that phones and submissions can tell the two apart.",
    "แบบฟอร์ม '{form_id}' มีรุ่น '{version}' ที่เนื้อหาต่างกันอยู่แล้ว กรุณาเปลี่ยนเลขรุ่น (version ในแผ่นงาน settings) แล้วเผยแพร่ใหม่",
)
ENTITY_EXISTS = _p(
    "409.5",
    "The entity list '{name}' already has an entity '{uuid}'{deleted}.",
    "มีรายการ '{uuid}' ใน '{name}' อยู่แล้ว{deleted_th}",
)
ENTITY_VERSION_CONFLICT = _p(
    "409.6",
    "The current version of entity '{uuid}' is {current}, and you gave '{provided}' as baseVersion. Read it "
    "again and make your change on the current version (or pass force=true).",
    "รายการ '{uuid}' เป็นรุ่นที่ {current} แล้ว แต่ baseVersion ที่ส่งมาคือ '{provided}' กรุณาอ่านรายการใหม่แล้วแก้ไขจากรุ่นปัจจุบัน",
)

# 413: too large
TOO_LARGE = _p(
    "413.1",
    "The upload is larger than this server accepts ({limit} bytes).",
    "ข้อมูลที่ส่งมีขนาดใหญ่เกินกว่าที่เซิร์ฟเวอร์รับได้ ({limit} ไบต์)",
)
FILE_TOO_LARGE = _p(
    "413.2",
    "The file '{name}' is larger than this server accepts for one file ({limit} bytes). Nothing was saved; "
    "make the file smaller (a shorter video, a lower photo size in Collect's settings) and send again.",
    "ไฟล์ '{name}' มีขนาดใหญ่เกินกว่าที่เซิร์ฟเวอร์รับได้ต่อหนึ่งไฟล์ ({limit} ไบต์) ยังไม่มีการบันทึกข้อมูลใด "
    "กรุณาลดขนาดไฟล์ (วิดีโอสั้นลง หรือลดขนาดภาพในการตั้งค่า Collect) แล้วส่งอีกครั้ง",
)
#: Said by the web form page, which checks each file before sending (the server would answer 413.2): the
#: submission stays in the browser's outbox and goes once the limit (KNN_ACCEPT_CONTENT_LENGTH) is raised.
WEB_FORM_FILE_TOO_LARGE = _p(
    "413.3",
    "The file '{name}' ({size}) is larger than this server accepts for one file ({limit}). Nothing has been sent: "
    "the submission is kept in this browser. Ask an administrator to raise the limit, then press Send again.",
    "ไฟล์ '{name}' ({size}) มีขนาดใหญ่เกินกว่าที่เซิร์ฟเวอร์รับได้ต่อหนึ่งไฟล์ ({limit}) จึงยังไม่ได้ส่งข้อมูลใด "
    "ข้อมูลเก็บไว้ในเบราว์เซอร์นี้ ให้ผู้ดูแลระบบเพิ่มขนาดที่รับได้ แล้วกด “ส่งอีกครั้ง”",
)

# 422: a form that cannot be published
FORM_INVALID = _p(
    "422.1",
    "The form could not be published: {detail}",
    "ไม่สามารถเผยแพร่แบบฟอร์มได้: {detail}",
)

# 5xx: our side
STORAGE_FAILED = _p(
    "503.1",
    "The server could not store the upload right now ({detail}). Nothing was saved; send it again later.",
    "เซิร์ฟเวอร์บันทึกข้อมูลไม่ได้ในขณะนี้ ({detail}) ยังไม่มีการบันทึกข้อมูลใด กรุณาส่งใหม่ภายหลัง",
)
DATABASE_UNAVAILABLE = _p(
    "503.2",
    "The server cannot reach its database right now. Try again in a few minutes; sending the same submission "
    "again is safe.",
    "เซิร์ฟเวอร์เชื่อมต่อฐานข้อมูลไม่ได้ในขณะนี้ กรุณาลองใหม่ในอีกสักครู่ การส่งข้อมูลเดิมซ้ำไม่ทำให้ข้อมูลซ้ำซ้อน",
)
