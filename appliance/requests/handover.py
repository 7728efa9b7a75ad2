"""The handover record (biên bản bàn giao dữ liệu) of an evidence package, as a PDF in Vietnamese.

It holds the request's details, every file of the package with its SHA-256 (a camera whose stream
changed within the range, or a burned-in camera with a gap, has several, each marked "phần 1/2" ...),
the gaps in the recording, the appliance id and the fingerprint of the key that signs the manifest, and
places for both parties to sign.
Vietnamese needs a font with its diacritics: DejaVu Sans (Debian's fonts-dejavu-core, which `make deps`
and the image install) is embedded in the PDF.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from appliance.audit_export import local_timezone
from appliance.errors import WardCamError

from .package import PackedFile

if TYPE_CHECKING:
    from fpdf import FPDF

FONT_DIRS = (Path("/usr/share/fonts/truetype/dejavu"),)
REGULAR, BOLD = "DejaVuSans.ttf", "DejaVuSans-Bold.ttf"
NAME = "handover.pdf"


class FontMissing(WardCamError):
    """The font the handover record needs (DejaVu Sans, package fonts-dejavu-core) is not installed."""

    key = "requests.error.font_missing"
    status = 500


def find_font(name: str) -> Path:
    """Return the path of one of DejaVu's TTF files; FontMissing when it is not installed."""
    for folder in FONT_DIRS:
        if (folder / name).is_file():
            return folder / name
    raise FontMissing()


@dataclass(frozen=True)
class HandoverFacts:
    """What the handover record tells, besides the files."""

    request: dict[str, Any]  # the manifest's request details
    appliance_id: str
    fingerprint: str
    created_at: datetime
    variant: str = "original"  # or "burned_in": re-encoded with the date, time and camera drawn in


def _when(text: str | None) -> str:
    if not text:
        return "—"
    return datetime.fromisoformat(text).astimezone(local_timezone()).strftime("%H:%M:%S ngày %d/%m/%Y")


def _new_pdf() -> FPDF:
    """Return an A4 document whose pages end with their number."""
    from fpdf import FPDF  # imported only to make a record: fpdf takes half a second to import

    class _Pdf(FPDF):
        def footer(self) -> None:
            self.set_y(-12)
            self.set_font("dejavu", size=8)
            self.cell(0, 6, f"Trang {self.page_no()}/{{nb}} · WardCam", align="C")

    return _Pdf(format="A4")


def render_handover(facts: HandoverFacts, files: list[PackedFile]) -> bytes:
    """Return the handover record as PDF bytes."""
    from fpdf.enums import XPos, YPos

    pdf = _new_pdf()
    pdf.set_creation_date(facts.created_at)
    pdf.add_font("dejavu", "", str(find_font(REGULAR)))
    pdf.add_font("dejavu", "B", str(find_font(BOLD)))
    pdf.set_auto_page_break(auto=True, margin=16)
    pdf.add_page()
    width = pdf.epw

    def line(text: str, size: float = 10, bold: bool = False, align: str = "L") -> None:
        pdf.set_font("dejavu", "B" if bold else "", size)
        pdf.multi_cell(width, size * 0.55, text, align=align, new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def gap(mm: float = 2) -> None:
        pdf.ln(mm)

    r = facts.request
    line("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", 11, True, "C")
    line("Độc lập - Tự do - Hạnh phúc", 10, True, "C")
    gap(4)
    line("BIÊN BẢN BÀN GIAO DỮ LIỆU HÌNH ẢNH CAMERA", 14, True, "C")
    line(f"Yêu cầu số {r.get('id')} · Hồ sơ / văn bản số {r.get('case_number', '')}", 10, False, "C")
    gap(4)
    line(f"Hôm nay, lúc {_when(facts.created_at.isoformat())}, chúng tôi gồm:")
    line("Bên giao: Ủy ban nhân dân phường (quản trị hệ thống camera WardCam)")
    line(
        f"Bên nhận: {r.get('officer_name', '')}, {r.get('officer_unit', '')}, số hiệu/CCCD {r.get('officer_badge', '')}"
    )
    line("đã tiến hành bàn giao dữ liệu hình ảnh camera với nội dung sau:")
    gap()
    line("1. Thông tin yêu cầu", 11, True)
    line(f"Lý do: {r.get('reason', '')}")
    line(f"Khoảng thời gian yêu cầu: từ {_when(r.get('start'))} đến {_when(r.get('end'))}")
    line(f"Mức khẩn: {'Khẩn' if r.get('urgency') == 'urgent' else 'Bình thường'}")
    line(f"Người lập yêu cầu: {r.get('created_by', '')} lúc {_when(r.get('created_at'))}")
    line(f"Người phê duyệt: {r.get('approved_by', '')} lúc {_when(r.get('approved_at'))}"
         + (f" · Ghi chú: {r['approval_note']}" if r.get("approval_note") else ""))  # fmt: skip
    if facts.variant == "burned_in":
        line("Bản ghi được mã hóa lại, có in ngày giờ và tên camera lên hình (không phải bản gốc).", 10, True)
    else:
        line("Bản ghi gốc, ghép nối không mã hóa lại (giữ nguyên dữ liệu của camera).")
    gap()
    line("2. Danh sách tệp và mã băm SHA-256", 11, True)
    for number, f in enumerate(files, 1):
        if not f.name:
            line(f"{number}. Camera {f.camera_name or f.camera_id}: không có bản ghi trong khoảng thời gian này.", 9)
            continue
        part = f" · phần {f.part}/{f.parts}" if f.parts > 1 else ""  # its stream changed, or a burned-in gap
        size = f"{f.size:,}".replace(",", ".")
        line(f"{number}. {f.name} · camera {f.camera_name or f.camera_id}{part} · {size} byte", 9, True)
        began = _when(f.actual_start.isoformat() if f.actual_start else None)
        ended = _when(f.actual_end.isoformat() if f.actual_end else None)
        line(f"Từ {began} đến {ended} · mã hóa {f.codec or '—'}", 9)
        line(f"SHA-256: {f.sha256}", 8)
        for start, end in f.gaps:
            line(f"Khoảng trống không có bản ghi: {_when(start.isoformat())} – {_when(end.isoformat())}", 8)
    gap()
    line("3. Xác thực", 11, True)
    line(f"Mã thiết bị: {facts.appliance_id}")
    line(f"Vân tay khóa ký (Ed25519): {facts.fingerprint}")
    line("Tệp manifest.json liệt kê mọi tệp cùng mã SHA-256 và được ký bằng khóa trên. Kiểm tra ngoại tuyến bằng "
         f"lệnh: wardcam verify <tệp gói> --fingerprint \"{facts.fingerprint}\"", 9)  # fmt: skip
    gap(8)
    if pdf.will_page_break(40):
        pdf.add_page()
    y = pdf.get_y()
    half = width / 2
    for column, (title, who) in enumerate((("BÊN GIAO", "(Ký, ghi rõ họ tên)"), ("BÊN NHẬN", "(Ký, ghi rõ họ tên)"))):
        pdf.set_xy(pdf.l_margin + column * half, y)
        pdf.set_font("dejavu", "B", 11)
        pdf.cell(half, 6, title, align="C")
        pdf.set_xy(pdf.l_margin + column * half, y + 6)
        pdf.set_font("dejavu", "", 9)
        pdf.cell(half, 6, who, align="C")
    return bytes(pdf.output())
