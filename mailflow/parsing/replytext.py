"""A reply's own text: what its writer typed, without the mail it quotes or a signature.

`own_text(text)` takes a reply's text (the plain part, or the HTML part turned into text)
and cuts it where the quoted mail starts, the way the clients people use write that:

- lines starting with '>' (mutt, Thunderbird, Gmail quoting line by line);
- Foxmail and QQ Mail: a '------------------ 原始邮件 ------------------' line (also
  'Original Message' and the forwarded-mail separators), and what follows;
- Outlook: a header block, '发件人:' or 'From:' followed within a few lines by
  '发送时间:'/'Sent:'/'日期:'/'收件人:'/'To:'/'主题:'/'Subject:' (also in the text of an
  HTML-only reply, where the labels may be bold or on one line), and what follows; the
  underscore rule Outlook puts above it;
- Gmail, Apple Mail, 163: '在 2026年12月3日 … 写道：', '… 于 2026年12月3日 … 写道：',
  'On … wrote:' and what follows (the attribution may wrap onto a second line);
- phone signatures ('发自我的iPhone', '发自网易邮箱大师', 'Sent from my …', 'Get Outlook
  for iOS') and a '-- ' signature separator, and what follows.

Pure: no I/O. The result keeps the writer's own line breaks, trailing blanks removed.
"""

from __future__ import annotations

import re
import unicodedata

_CUT = [
    re.compile(r"^\s*-{2,}\s*(原始邮件|原始郵件|Original Message|Original|邮件原文|回复的原邮件)\s*-{2,}\s*$", re.I),
    re.compile(r"^\s*-{2,}\s*(转发邮件信息|Forwarded message|转发的邮件)\s*-{2,}\s*$", re.I),
    re.compile(r"^\s*_{10,}\s*$"),
    re.compile(r"^\s*On\s.{4,300}\bwrote\s*:\s*$", re.I),
    re.compile(r"^\s*在\s*.{4,300}写道\s*[:：]\s*$"),
    re.compile(r"^.{0,120}于\s*\d{4}\s*年.{0,160}写道\s*[:：]\s*$"),
    re.compile(r"^.{0,120}\d{4}[-/]\d{1,2}[-/]\d{1,2}.{0,120}写道\s*[:：]\s*$"),
]
# An attribution the client wrapped: 'On Thu, Dec 3, 2026 at 21:05, 冯喆 <feng@…>' then
# 'wrote:' on the next line.
_WRAPPED = [
    (re.compile(r"^\s*On\s.{4,300}$", re.I), re.compile(r"^\s*.{0,200}\bwrote\s*:\s*$", re.I)),
    (re.compile(r"^\s*在\s*.{4,300}$"), re.compile(r"^.{0,200}写道\s*[:：]\s*$")),
]
_HEADER_FIRST = re.compile(r"^\s*\**\s*(发件人|寄件者|From)\s*\**\s*[:：]", re.I)
_HEADER_NEXT = re.compile(
    r"^\s*\**\s*(发送时间|发送日期|时间|日期|寄件日期|收件人|抄送|主题|Sent|Date|To|Cc|Subject)"
    r"\s*\**\s*[:：]", re.I)
# Outlook's HTML sometimes puts the whole block on one line: 发件人: … 发送时间: … 收件人: …
_HEADER_ONE_LINE = re.compile(
    r"^\s*\**\s*(发件人|From)\s*\**\s*[:：].{1,300}?(发送时间|Sent|日期|Date)\s*\**\s*[:：]", re.I)
_SIGNATURE = [
    re.compile(r"^-- ?$"),
    re.compile(r"^\s*(发自我的|来自我的|从我的|Sent from my)\s*\S.*$", re.I),
    re.compile(r"^\s*(发自|来自)\s*(网易邮箱大师|网易邮箱|QQ邮箱|手机QQ邮箱|企业微信|钉钉|Foxmail|"
               r"华为|小米|荣耀|OPPO|vivo|Outlook)\S*\s*$", re.I),
    re.compile(r"^\s*Get Outlook for (iOS|Android)\s*$", re.I),
]


def _cut_at(lines: list[str]) -> int:
    for i, line in enumerate(lines):
        plain = unicodedata.normalize("NFKC", line).replace("\xa0", " ")
        if any(p.match(plain) for p in _CUT) or any(p.match(plain) for p in _SIGNATURE):
            return i
        if _HEADER_ONE_LINE.match(plain):
            return i
        if _HEADER_FIRST.match(plain) and any(
                _HEADER_NEXT.match(unicodedata.normalize("NFKC", n)) for n in lines[i + 1:i + 5]):
            return i
        if i + 1 < len(lines):
            following = unicodedata.normalize("NFKC", lines[i + 1])
            if any(a.match(plain) and b.match(following) and not a.match(following)
                   for a, b in _WRAPPED) and len(plain) + len(following) < 400:
                return i
    return len(lines)


def own_text(text: str) -> str:
    """The reply's own words: quoted mail, '>' lines and the signature removed."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    lines = lines[:_cut_at(lines)]
    kept = [line.rstrip() for line in lines
            if not unicodedata.normalize("NFKC", line).lstrip().startswith(">")]
    while kept and not kept[-1].strip():
        kept.pop()
    while kept and not kept[0].strip():
        kept.pop(0)
    return "\n".join(kept)
