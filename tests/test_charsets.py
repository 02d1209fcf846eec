from mailflow.parsing.charsets import codec_for, decode_bytes, decode_header_value


def test_gb2312_label_decodes_gbk_only_characters():
    data = "冯喆 蒋镕".encode("gbk")
    text, warning = decode_bytes(data, "gb2312")
    assert text == "冯喆 蒋镕"
    assert warning is None


def test_gbk_family_labels_map_to_gb18030():
    for label in ("gb2312", "GBK", "x-gbk", "cp936", '"GB2312"', "euc-cn"):
        assert codec_for(label) == "gb18030"


def test_unknown_label_falls_back_to_utf8_then_gb18030():
    assert decode_bytes("日报".encode("utf-8"), "x-unknown-charset") == ("日报", None)
    assert decode_bytes("日报".encode("gb18030"), None) == ("日报", None)


def test_wrong_label_is_recovered():
    # Labelled utf-8, written in GBK (seen from old phone clients).
    text, warning = decode_bytes("销售额".encode("gbk"), "utf-8")
    assert text == "销售额" and warning is None


def test_undecodable_bytes_are_reported_not_silent():
    text, warning = decode_bytes(b"\x81\x30\xff\xfe\xfd", "gb2312")
    assert warning is not None and "undecodable" in warning
    assert "\ufffd" in text


def test_encoded_word_split_mid_character_joins_bytes_first():
    raw = "冯喆".encode("utf-8")
    import base64
    value = (f"=?utf-8?B?{base64.b64encode(raw[:4]).decode()}?= "
             f"=?utf-8?B?{base64.b64encode(raw[4:]).decode()}?=")
    assert decode_header_value(value) == "冯喆"


def test_header_8bit_without_charset():
    value = "日报 冯喆".encode("gbk").decode("ascii", "surrogateescape")
    assert decode_header_value(value) == "日报 冯喆"


def test_quoted_encoded_word_display_name():
    assert decode_header_value('"=?gb2312?B?va/pRg==?="') == '"蒋镕"'
