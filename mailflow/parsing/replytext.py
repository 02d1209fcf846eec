"""A reply's own text: what its writer typed, without the mail it quotes or a signature.

Words that decide something (同意, 不同意) count only here, never in the quoted mail:
"不同意" quoted under a supervisor's "同意" must not refuse. Handles '>' quoted lines, the
Foxmail/QQ '------------------ 原始邮件 ------------------' block, the Outlook '发件人:' /
'From:' header block, '在 … 写道：' / 'On … wrote:' and everything after, a phone's
'发自我的iPhone' line and a '-- ' signature. A pure function.
"""

from __future__ import annotations

import re

_CUT = [
    re.compile(r"^\s*-{2,}\s*(原始邮件|原始郵件|Original Message|Original|转发邮件信息|"
               r"Forwarded message)\s*-{2,}\s*$", re.I),
    re.compile(r"^\s*_{10,}\s*$"),                         # Outlook's rule above its header
    re.compile(r"^\s*On\b.{2,300}\bwrote\s*:\s*$", re.I),
    re.compile(r"^\s*在.{2,300}写道\s*[:：]\s*$"),
    re.compile(r"^.{0,100}于\s*\d{4}\s*年.{0,200}写道\s*[:：]\s*$"),
    re.compile(r"^-- ?$"),
    re.compile(r"^\s*(发自我的|来自我的|从我的|Sent from my)\s*\S.*$", re.I),
    re.compile(r"^\s*(发自|来自)(网易邮箱大师|QQ邮箱|手机QQ邮箱|企业微信|钉钉|Foxmail)\s*$"),
    re.compile(r"^\s*Get Outlook for (iOS|Android)\s*$", re.I),
]
_HEADER = re.compile(r"^\s*\**\s*(发件人|From)\s*\**\s*[:：]", re.I)
_HEADER_NEXT = re.compile(r"^\s*\**\s*(发送时间|发送日期|日期|时间|Sent|Date|收件人|To|主题|"
                          r"Subject)\s*\**\s*[:：]", re.I)


def own_text(text: str) -> str:
    """The reply's own text, trimmed; empty when it only quotes."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    cut = len(lines)
    for i, line in enumerate(lines):
        if any(p.match(line) for p in _CUT) or (
                _HEADER.match(line) and any(_HEADER_NEXT.match(n) for n in lines[i + 1:i + 5])):
            cut = i
            break
    kept = [line.rstrip() for line in lines[:cut] if not line.lstrip().startswith(">")]
    return "\n".join(kept).strip()
