import pytest

from conftest import read_mail
from mailflow.parsing.parse import ParseError, clean_message_id, parse_mail, strip_quotes_and_signature

CLIENTS = {
    "clients/foxmail-gbk-bytes-labelled-gb2312.eml": ("日报-蒋镕-9月8日", "蒋镕"),
    "clients/mutt-gbk-8bit.eml": ("工作日报 2026-09-08 冯喆", "冯喆"),
    "clients/outlook-html-table-only.eml": ("日报 2026/09/08", "沈洁"),
    "clients/qqmail-with-quoted-original.eml": ("日报9.8", "韩梅"),
    "clients/iphone-signature.eml": ("Daily report 20260908", "杨帆"),
    "clients/coremail-163-utf8.eml": ("日报 2026-09-08", "朱琳"),
}


@pytest.mark.parametrize("name", sorted(CLIENTS))
def test_real_clients_decode_without_loss(name):
    mail = parse_mail(read_mail(name))
    subject, sender = CLIENTS[name]
    assert mail.subject == subject
    assert mail.from_name == sender
    assert "\ufffd" not in mail.body
    assert mail.warnings == ()
    assert mail.to == ("qian.zg@sample-corp.cn",)
    assert mail.cc == ("hr@sample-corp.cn",)


def test_gbk_only_characters_survive_in_body():
    assert "镕鑫电子" in parse_mail(read_mail("clients/foxmail-gbk-bytes-labelled-gb2312.eml")).body
    assert "镕鑫电子" in parse_mail(read_mail("clients/mutt-gbk-8bit.eml")).body


def test_qq_quoted_original_is_not_part_of_report():
    body = parse_mail(read_mail("clients/qqmail-with-quoted-original.eml")).body
    assert "原始邮件" not in body
    assert "这是前一天的日报" not in body
    assert body.rstrip().endswith("回访瑞丰科技，准备报价单。")


def test_iphone_signature_removed():
    body = parse_mail(read_mail("clients/iphone-signature.eml")).body
    assert "发自我的iPhone" not in body


def test_outlook_table_becomes_label_value_lines():
    body = parse_mail(read_mail("clients/outlook-html-table-only.eml")).body
    assert "今日工作：整理客户档案" in body
    assert "销售额：￥12,800.00" in body
    assert "华东区销售部" not in body  # the signature under the table


def test_outlook_original_message_and_gmail_wrote_blocks_cut():
    assert "999999" not in parse_mail(read_mail("outlook_original_message.eml")).body
    body = parse_mail(read_mail("gmail_on_wrote.eml")).body
    assert "777" not in body and "wrote:" not in body


def test_split_encoded_word_and_8bit_header():
    assert parse_mail(read_mail("split_encoded_word.eml")).subject == "工作日报 冯喆"
    mail = parse_mail(read_mail("eightbit_header_no_charset.eml"))
    assert mail.subject == "日报 11-26 冯喆"
    assert mail.from_name == "冯喆"
    assert "拜访镕鑫" in mail.body


def test_rfc2231_filename_and_xlsx_content():
    mail = parse_mail(read_mail("xlsx_report.eml"))
    assert [a.filename for a in mail.attachments] == ["日报 11月26日.xlsx"]
    assert "销售额：1.2万" in mail.body
    assert "明日计划：跟进报价单" in mail.body


def test_no_from_is_a_parse_error():
    with pytest.raises(ParseError, match="no From"):
        parse_mail(read_mail("no_from_unparseable.eml"))


def test_empty_bytes_are_a_parse_error():
    with pytest.raises(ParseError):
        parse_mail(b"")


def test_message_id_cleaning():
    assert clean_message_id(" <abc@x> ") == "abc@x"
    assert clean_message_id("abc@x") == "abc@x"
    assert clean_message_id("") is None
    assert parse_mail(read_mail("no_message_id.eml")).message_id is None


def test_signature_line_with_sender_name_cut():
    text = "【明日计划】\n报价\n\n\n蒋镕\n"
    assert strip_quotes_and_signature(text, "蒋镕").endswith("报价")


def test_chinese_outlook_reply_header_block_cut():
    text = ("今日工作：新内容\n明日计划：报价\n\n发件人: 冯喆 <feng.zhe@example.com>\n"
            "发送时间: 2026年11月25日 20:00\n收件人: 钱主管\n主题: 日报\n\n销售额：999999")
    out = strip_quotes_and_signature(text)
    assert out == "今日工作：新内容\n明日计划：报价"


def test_xlsx_zip_bomb_is_refused_with_a_warning():
    import io
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("xl/worksheets/sheet1.xml", b"0" * 30_000_000)
    bomb = buf.getvalue()
    import base64
    raw = (b"From: feng.zhe@example.com\r\nSubject: daily report\r\nMIME-Version: 1.0\r\n"
           b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\n'
           b"Content-Type: text/plain\r\n\r\nsee attachment\r\n--b\r\n"
           b"Content-Type: application/vnd.openxmlformats-officedocument.spreadsheetml.sheet\r\n"
           b'Content-Disposition: attachment; filename="r.xlsx"\r\n'
           b"Content-Transfer-Encoding: base64\r\n\r\n" + base64.encodebytes(bomb) + b"--b--\r\n")
    mail = parse_mail(raw)
    assert any("zip bomb" in w for w in mail.warnings)
    assert mail.body == "see attachment"


def test_attachment_size_is_read_without_decoding_it():
    from email.mime.application import MIMEApplication
    from email.mime.multipart import MIMEMultipart
    from email.mime.text import MIMEText

    msg = MIMEMultipart()
    msg["From"], msg["Subject"] = "feng.zhe@example.com", "日报"
    msg.attach(MIMEText("今日工作：拜访客户", "plain", "utf-8"))
    for size in (1, 2, 3, 1000, 54321):
        part = MIMEApplication(bytes(range(256)) * (size // 256) + b"x" * (size % 256), "pdf")
        part.add_header("Content-Disposition", "attachment", filename=f"{size}.pdf")
        msg.attach(part)
    mail = parse_mail(msg.as_bytes())
    assert [a.size for a in mail.attachments] == [1, 2, 3, 1000, 54321]


def test_xlsx_cells_read_as_openpyxl_reads_their_values():
    import datetime
    import io

    from openpyxl import Workbook

    from mailflow.parsing.xlsxtext import xlsx_to_text

    wb = Workbook()
    ws = wb.active
    for row in (["日期", datetime.date(2026, 11, 19)], ["销售额", 12000], ["回款", 1.5],
                ["a", "b", "c"], [None, "x", None, "y"], ["布尔", True]):
        ws.append(row)
    wb.create_sheet("二").append(["备注", "第二页"])
    buf = io.BytesIO()
    wb.save(buf)
    assert xlsx_to_text(buf.getvalue()).splitlines() == [
        "日期：2026-11-19 00:00:00", "销售额：12000", "回款：1.5", "a  b  c", "x：y", "布尔：True",
        "备注：第二页"]
