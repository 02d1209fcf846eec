"""Writes the bad-mail corpus (tests/badmail/*.eml): malformed and hostile mail of the
kinds a mail service meets. Run from the project root to regenerate. The two largest
cases (a 50 MB attachment, 10,000 MIME parts) are made by the test itself, not stored."""

from __future__ import annotations

import base64
import io
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
FROM = b"From: feng.zhe@example.com\r\nTo: qian.zg@example.com\r\nCc: hr@example.com\r\n"
DATE = b"Date: Thu, 19 Nov 2026 20:00:00 +0800\r\n"
REPORT = "【今日工作】\r\n拜访\r\n【客户拜访】\r\n2家\r\n【销售额】\r\n100\r\n【回款】\r\n0\r\n【明日计划】\r\n报价\r\n"


def mail(headers: bytes, body: bytes = REPORT.encode(), subject: bytes | None = None) -> bytes:
    subj = subject if subject is not None else b"Subject: =?utf-8?B?" + \
        base64.b64encode("日报 2026-11-19".encode()) + b"?=\r\n"
    return headers + subj + b"\r\n" + body


def std(extra: bytes = b"", mid: str = "x") -> bytes:
    return FROM + DATE + f"Message-ID: <bad-{mid}@example.com>\r\n".encode() + extra


def multipart(parts: list[bytes], boundary: str = "BB", extra: bytes = b"", mid: str = "mp") -> bytes:
    body = b"".join(f"--{boundary}\r\n".encode() + p + b"\r\n" for p in parts) + \
        f"--{boundary}--\r\n".encode()
    return mail(std(f'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="{boundary}"\r\n'
                    .encode() + extra, mid), body)


def text_part(data: bytes, charset: str = "utf-8", cte: str = "8bit") -> bytes:
    return f"Content-Type: text/plain; charset={charset}\r\nContent-Transfer-Encoding: {cte}\r\n\r\n" \
        .encode() + data


def attach(name: str, data: bytes, mime: str = "application/octet-stream") -> bytes:
    return (f'Content-Type: {mime}\r\nContent-Disposition: attachment; filename="{name}"\r\n'
            f"Content-Transfer-Encoding: base64\r\n\r\n").encode() + base64.encodebytes(data)


def nested(depth: int) -> bytes:
    inner = mail(std(mid=f"n{depth}-inner"))
    for i in range(depth):
        inner = (std(b"MIME-Version: 1.0\r\nContent-Type: message/rfc822\r\n", f"n{i}")
                 + b"Subject: fw\r\n\r\n" + inner)
    return inner


def zip_bomb() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", b"<Types/>")
        zf.writestr("xl/worksheets/sheet1.xml", b"0" * 200_000_000)
    return buf.getvalue()


def cases() -> dict[str, bytes]:
    r = REPORT.encode()
    gbk = REPORT.encode("gbk")
    c: dict[str, bytes] = {}
    # Broken base64
    c["b64_bad_padding"] = mail(std(b"Content-Type: text/plain; charset=utf-8\r\n"
                                    b"Content-Transfer-Encoding: base64\r\n", "b1"),
                                base64.b64encode(r)[:-3])
    c["b64_invalid_chars"] = mail(std(b"Content-Type: text/plain; charset=utf-8\r\n"
                                      b"Content-Transfer-Encoding: base64\r\n", "b2"),
                                  b"!!!@@@###" + base64.b64encode(r) + b"***")
    c["b64_truncated_midline"] = mail(std(b"Content-Type: text/plain; charset=gb2312\r\n"
                                          b"Content-Transfer-Encoding: base64\r\n", "b3"),
                                      base64.encodebytes(gbk)[:37])
    c["b64_subject_garbage"] = mail(std(mid="b4"), subject=b"Subject: =?utf-8?B?!!!*&^?=\r\n")
    # Missing headers
    c["no_from"] = mail(b"To: qian.zg@example.com\r\n" + DATE + b"Message-ID: <bad-nofrom@example.com>\r\n")
    c["no_date"] = mail(FROM + b"Message-ID: <bad-nodate@example.com>\r\n")
    c["no_subject"] = mail(std(mid="nosubj"), subject=b"")
    c["no_message_id"] = mail(FROM + DATE)
    c["no_to_no_cc"] = mail(b"From: feng.zhe@example.com\r\n" + DATE + b"Message-ID: <bad-noto@example.com>\r\n")
    c["empty_header_block"] = b"\r\n" + r
    c["body_only_no_blank_line"] = r
    # Duplicated headers
    c["two_from"] = mail(std(b"From: evil@other.example\r\n", "dupfrom"))
    c["two_subjects"] = mail(std(b"Subject: second\r\n", "dupsubj"))
    c["two_message_ids"] = mail(std(b"Message-ID: <another@example.com>\r\n", "dupmid"))
    c["two_content_types"] = mail(std(b"Content-Type: text/plain; charset=gbk\r\n"
                                      b"Content-Type: text/html; charset=utf-8\r\n", "dupct"), gbk)
    # 8-bit headers with no charset
    c["8bit_subject_gbk"] = mail(std(mid="8g"), subject=b"Subject: " + "日报 冯喆".encode("gbk") + b"\r\n")
    c["8bit_subject_utf8"] = mail(std(mid="8u"), subject=b"Subject: " + "日报 冯喆".encode() + b"\r\n")
    c["8bit_from_big5"] = mail(b"From: " + "馮國強".encode("big5") + b" <feng.zhe@example.com>\r\n"
                               + DATE + b"Message-ID: <bad-8b@example.com>\r\n")
    c["8bit_from_latin1"] = mail(b"From: Jos\xe9 <feng.zhe@example.com>\r\n" + DATE
                                 + b"Message-ID: <bad-8l@example.com>\r\n")
    # Undecodable or unknown charsets
    c["charset_unknown"] = mail(std(b"Content-Type: text/plain; charset=x-klingon\r\n", "cu"), gbk)
    c["charset_utf8_random_bytes"] = mail(std(b"Content-Type: text/plain; charset=utf-8\r\n", "cr"),
                                          bytes(range(128, 256)) * 4)
    c["charset_gb2312_invalid"] = mail(std(b"Content-Type: text/plain; charset=gb2312\r\n", "cg"),
                                       b"\x81\x30\xff\xfe" * 50 + gbk)
    c["charset_empty"] = mail(std(b'Content-Type: text/plain; charset=""\r\n', "ce"), gbk)
    c["charset_word_unknown"] = mail(std(mid="cw"), subject=b"Subject: =?x-unknown?Q?=E6=97=A5?=\r\n")
    c["encoded_word_unterminated"] = mail(std(mid="eu"), subject=b"Subject: =?utf-8?B?5pel5oql\r\n")
    # Nesting
    c["nested_rfc822_5"] = nested(5)
    c["nested_rfc822_40"] = nested(40)
    c["nested_multipart_200"] = _deep_multipart(200)
    # Many parts (the 10,000-part case is made by the test)
    c["parts_600"] = multipart([text_part(b"x")] * 600, mid="p600")
    # Stuffed headers
    c["content_type_semicolons"] = mail(std(b"Content-Type: text/plain" + b";" * 20000 + b"\r\n", "semi"))
    c["content_type_params_10k"] = mail(std(b"Content-Type: text/plain; " + b"; ".join(
        f"p{i}=v{i}".encode() for i in range(10000)) + b"\r\n", "params"))
    c["header_line_100k"] = mail(std(b"X-Long: " + b"a" * 100_000 + b"\r\n", "long"))
    c["headers_10k"] = mail(std(b"".join(f"X-H{i}: v\r\n".encode() for i in range(10000)), "many"))
    # Absurd dates
    c["date_year_99999"] = mail(FROM + b"Date: Thu, 19 Nov 99999 20:00:00 +0800\r\nMessage-ID: <bad-d1@example.com>\r\n")
    c["date_words"] = mail(FROM + b"Date: yesterday at teatime\r\nMessage-ID: <bad-d2@example.com>\r\n")
    c["date_tz_absurd"] = mail(FROM + b"Date: Thu, 19 Nov 2026 20:00:00 -9999\r\nMessage-ID: <bad-d3@example.com>\r\n")
    c["date_1970"] = mail(FROM + b"Date: Thu, 01 Jan 1970 00:00:00 +0000\r\nMessage-ID: <bad-d4@example.com>\r\n")
    c["date_empty"] = mail(FROM + b"Date: \r\nMessage-ID: <bad-d5@example.com>\r\n")
    # Attachments
    c["xlsx_zip_bomb"] = multipart([text_part(b"see attachment"), attach(
        "report.xlsx", zip_bomb(), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")],
        mid="bomb")
    c["xlsx_not_a_zip"] = multipart([text_part(b"x"), attach("report.xlsx", b"not a zip at all")], mid="nozip")
    c["xlsx_10k_rows"] = multipart([text_part(b"x"), attach("rows.xlsx", _xlsx_rows(10000))], mid="rows")
    c["tnef_winmail_dat"] = multipart([text_part(r), attach("winmail.dat", b"\x78\x9f\x3e\x22" + bytes(2000),
                                                            "application/ms-tnef")], mid="tnef")
    c["attachment_dotdot"] = multipart([text_part(r), attach("../../etc/passwd", b"root:x:0:0")], mid="dd")
    c["attachment_absolute"] = multipart([text_part(r), attach("/etc/shadow", b"x")], mid="abs")
    c["attachment_nul_name"] = multipart([text_part(r), attach("a\x00b.xlsx", b"x")], mid="nul")
    c["attachment_long_name"] = multipart([text_part(r), attach("n" * 500 + ".xlsx", b"x")], mid="ln")
    c["attachment_rfc2231_broken"] = multipart([text_part(r), (
        b"Content-Type: application/octet-stream\r\nContent-Disposition: attachment; "
        b"filename*=utf-8''%E6%97%A5%ZZ%\r\nContent-Transfer-Encoding: base64\r\n\r\nAAAA")], mid="2231")
    # MIME structure
    c["multipart_no_boundary"] = mail(std(b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed\r\n", "nob"))
    c["multipart_never_closed"] = mail(std(b'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="Q"\r\n',
                                           "open"), b"--Q\r\n" + text_part(r))
    c["multipart_boundary_mismatch"] = mail(std(b'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="A"\r\n',
                                                "mism"), b"--B\r\n" + text_part(r) + b"\r\n--B--\r\n")
    c["multipart_empty"] = mail(std(b'MIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary="E"\r\n',
                                    "empty"), b"--E--\r\n")
    # Bytes
    c["nul_in_body"] = mail(std(mid="nulbody"), r.replace(b"\r\n", b"\x00\r\n"))
    c["nul_in_header"] = mail(std(b"X-Nul: a\x00b\r\n", "nulhdr"))
    c["cr_only_lines"] = mail(std(mid="cr")).replace(b"\r\n", b"\r")
    c["lf_only_lines"] = mail(std(mid="lf")).replace(b"\r\n", b"\n")
    c["mixed_line_ends"] = mail(std(mid="mixed")).replace(b"\r\n", b"\n", 3)
    # Addresses
    c["from_empty_angle"] = mail(b"From: <>\r\n" + DATE + b"Message-ID: <bad-a1@example.com>\r\n")
    c["from_group_syntax"] = mail(b"From: undisclosed-recipients:;\r\n" + DATE + b"Message-ID: <bad-a2@example.com>\r\n")
    c["from_two_at"] = mail(b"From: a@b@example.com\r\n" + DATE + b"Message-ID: <bad-a3@example.com>\r\n")
    c["from_display_name_only"] = mail('From: "冯喆"\r\n'.encode() + DATE + b"Message-ID: <bad-a4@example.com>\r\n")
    c["to_10k_recipients"] = mail(b"From: feng.zhe@example.com\r\nTo: " + b", ".join(
        f"u{i}@example.com".encode() for i in range(10000)) + b"\r\n" + DATE + b"Message-ID: <bad-a5@example.com>\r\n")
    # Transfer encodings
    c["cte_unknown"] = mail(std(b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: x-uuencode\r\n", "cteu"))
    c["cte_qp_broken"] = mail(std(b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n",
                                  "qpb"), b"=E6=97=A5=XX=\r\n=E6=")
    # HTML
    c["html_nested_10k"] = mail(std(b"Content-Type: text/html; charset=utf-8\r\n", "deep"),
                                b"<div>" * 10000 + r + b"</div>" * 10000)
    c["html_script_and_entities"] = mail(std(b"Content-Type: text/html; charset=utf-8\r\n", "script"),
                                         b"<script>alert(1)</script>&#0;&#xD800;&bogus;" + r)
    # Not mail at all
    c["empty_file"] = b""
    c["whitespace_only"] = b"   \r\n\r\n  \r\n"
    c["binary_garbage"] = bytes((i * 37 + 11) % 256 for i in range(4096))
    c["png_file"] = b"\x89PNG\r\n\x1a\n" + bytes(200)
    # Message types
    c["message_partial"] = mail(std(b'MIME-Version: 1.0\r\nContent-Type: message/partial; id="x"; number=1; total=2\r\n', "part"))
    c["message_external_body"] = mail(std(b'MIME-Version: 1.0\r\nContent-Type: message/external-body; access-type=URL; URL="http://example.com/x"\r\n', "ext"))
    return c


def _deep_multipart(depth: int) -> bytes:
    body = text_part(REPORT.encode())
    for i in range(depth):
        body = (f'Content-Type: multipart/mixed; boundary="d{i}"\r\n\r\n--d{i}\r\n'.encode() + body
                + f"\r\n--d{i}--\r\n".encode())
    return std(b"MIME-Version: 1.0\r\n", "deepmp") + b"Subject: deep\r\n" + body


def _xlsx_rows(n: int) -> bytes:
    from openpyxl import Workbook
    wb = Workbook()
    ws = wb.active
    for i in range(n):
        ws.append([f"项目{i}", "x" * 10])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


if __name__ == "__main__":
    for name, data in cases().items():
        (HERE / f"{name}.eml").write_bytes(data)
    print(f"wrote {len(cases())} mails to {HERE}")
