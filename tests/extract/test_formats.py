"""Normal documents of every format, made by their own libraries, with the
known text asserted where it must be found (part, page, sheet, cell, member)."""

from __future__ import annotations

import bz2
import gzip
import lzma

import pytest

from detectors.extract import extract_bytes, extract_path
from detectors.extract.sniff import DOCX, ODS, PDF, PPTX, XLSX

from . import makers as m
from .conftest import collect


def parts_of(r, needle: str) -> set[str]:
    return {s.part for s in r.where(needle)}


def test_docx_body_header_footer_comment_textbox_table() -> None:
    data = m.docx(body=f"身份证 {m.ID}", header="机密★5年", footer="内部资料", comment=f"批注 {m.PHONE}",
                  textbox="文本框 秘密★1年", table=[["卡号", m.CARD]])
    r = collect(extract_bytes(data, "report.docx"))
    assert r.media_type == DOCX and not r.disguised and r.notices == []
    assert parts_of(r, m.ID) == {"body"}
    assert parts_of(r, "机密★5年") == {"header"}
    assert parts_of(r, "内部资料") == {"footer"}
    assert parts_of(r, m.PHONE) == {"comment"}
    assert parts_of(r, m.CARD) == {"body"}
    # the text box is read once, not again from its VML fallback
    boxes = r.where("文本框 秘密★1年")
    assert [s.part for s in boxes] == ["textbox"] and boxes[0].text.count("文本框") == 1
    header = r.where("机密★5年")[0]
    assert header.is_margin and header.at_start and header.at_end


def test_xlsx_sheets_cells_and_comments() -> None:
    data = m.xlsx({"客户": [["姓名", "身份证"], ["张三", m.ID]], "Hidden": [[None, None, m.CARD]]},
                  comment=("A1", f"call {m.PHONE}"))
    r = collect(extract_bytes(data, "list.xlsx"))
    assert r.media_type == XLSX
    [names] = [s for s in r.segments if s.part == "sheet-name"]
    assert names.text.split("\n") == ["客户", "Hidden"]
    [sheet] = r.where(m.ID)
    assert sheet.part == "sheet" and sheet.sheet == "客户"
    assert sheet.anchor_at(sheet.text.index(m.ID)) == "B2"
    assert sheet.anchor_at(sheet.text.index("张三")) == "A2"
    [hidden] = r.where(m.CARD)
    assert hidden.sheet == "Hidden" and hidden.anchor_at(hidden.text.index(m.CARD)) == "C1"
    assert parts_of(r, m.PHONE) == {"comment"}


def test_xlsx_print_header_and_footer_are_margins() -> None:
    r = collect(extract_bytes(m.xlsx(header="机密★5年", footer="第&P页 内部资料"), "h.xlsx"))
    [head] = r.where("机密★5年")
    assert (head.part, head.sheet, head.text) == ("header", "客户", "机密★5年") and head.is_margin
    [foot] = r.where("内部资料")
    assert foot.part == "footer" and "&" not in foot.text


def test_xlsx_numbers_keep_their_digits() -> None:
    r = collect(extract_bytes(m.xlsx({"S": [[int(m.PHONE), 3.5]]}), "n.xlsx"))
    assert m.PHONE in r.text() and "3.5" in r.text()


def test_pptx_slides_and_notes() -> None:
    data = m.pptx([("第一页 机密★5年", f"备注 {m.PHONE}"), (f"第二页 {m.ID}", None)])
    r = collect(extract_bytes(data, "deck.pptx"))
    assert r.media_type == PPTX
    [s1] = r.where("第一页")
    assert (s1.part, s1.page) == ("slide", 1)
    [n1] = r.where(m.PHONE)
    assert (n1.part, n1.page) == ("notes", 1)
    [s2] = r.where(m.ID)
    assert (s2.part, s2.page) == ("slide", 2)


def test_pdf_text_per_page() -> None:
    r = collect(extract_bytes(m.pdf(["SECRET page one", f"ID {m.ID}", "last page"]), "scan.pdf"))
    assert r.media_type == PDF
    pages = {s.page: s for s in r.segments}
    assert set(pages) == {1, 2, 3}
    assert m.ID in pages[2].text and "SECRET page one" in pages[1].text
    assert all(s.part == "page" and s.at_start and s.at_end for s in r.segments)


def test_pdf_with_owner_password_only_is_read() -> None:
    r = collect(extract_bytes(m.pdf([f"phone {m.PHONE}"], owner_password="owner"), "perm.pdf"))
    assert m.PHONE in r.text() and "container.encrypted" not in r.kinds()


def test_odt_ods_odp() -> None:
    odt = m.odf("text", f'<office:text><text:p>正文<text:s text:c="2"/>{m.ID}<office:annotation><text:p>批注'
                       f' {m.PHONE}</text:p></office:annotation></text:p></office:text>',
                '<style:master-page style:name="S"><style:header><text:p>机密★5年</text:p></style:header>'
                '<style:footer><text:p>页脚 内部</text:p></style:footer></style:master-page>')
    r = collect(extract_bytes(odt, "a.odt"))
    assert parts_of(r, m.ID) == {"body"} and f"正文  {m.ID}" in r.text()
    assert parts_of(r, m.PHONE) == {"comment"}
    assert parts_of(r, "机密★5年") == {"header"} and parts_of(r, "页脚 内部") == {"footer"}

    ods = m.odf("spreadsheet", '<office:spreadsheet><table:table table:name="名单"><table:table-row>'
                '<table:table-cell><text:p>姓名</text:p></table:table-cell>'
                '<table:table-cell table:number-columns-repeated="2"/>'
                f'<table:table-cell><text:p>{m.PHONE}</text:p></table:table-cell></table:table-row>'
                '<table:table-row table:number-rows-repeated="3"><table:table-cell/></table:table-row>'
                f'<table:table-row><table:table-cell><text:p>{m.ID}</text:p></table:table-cell></table:table-row>'
                '</table:table></office:spreadsheet>')
    r = collect(extract_bytes(ods, "a.ods"))
    assert r.media_type == ODS
    [sheet] = r.where(m.PHONE)
    assert sheet.sheet == "名单" and sheet.anchor_at(sheet.text.index(m.PHONE)) == "D1"
    assert sheet.anchor_at(sheet.text.index(m.ID)) == "A5"

    odp = m.odf("presentation", '<office:presentation><draw:page draw:name="1"><draw:frame><draw:text-box>'
                '<text:p>slide one</text:p></draw:text-box></draw:frame><presentation:notes><draw:frame>'
                f'<draw:text-box><text:p>note {m.PHONE}</text:p></draw:text-box></draw:frame></presentation:notes>'
                f'</draw:page><draw:page draw:name="2"><draw:frame><draw:text-box><text:p>{m.ID}</text:p>'
                '</draw:text-box></draw:frame></draw:page></office:presentation>')
    r = collect(extract_bytes(odp, "a.odp"))
    assert [(s.part, s.page) for s in r.where(m.PHONE)] == [("notes", 1)]
    assert [(s.part, s.page) for s in r.where(m.ID)] == [("slide", 2)]


def test_rtf_body_header_codepage_and_unicode() -> None:
    rtf = (b"{\\rtf1\\ansi\\ansicpg936{\\fonttbl{\\f0 SimSun;}}{\\header \\'bb\\'fa\\'c3\\'dc\\u9733?5\\'c4\\'ea\\par}"
           b"{\\*\\generator Riched20;}\\f0 \\'d5\\'fd\\'ce\\'c4 110101199003077774\\par second\\tab x"
           b"{\\footer \\u20869?\\u37096? footer\\par}}")
    r = collect(extract_bytes(rtf, "a.rtf"))
    assert parts_of(r, "机密★5年") == {"header"}
    assert parts_of(r, "内部 footer") == {"footer"}
    assert "正文 110101199003077774\nsecond\tx" in r.text(part="body")
    assert "Riched20" not in r.text() and "SimSun" not in r.text()


def test_html_and_xml() -> None:
    html = (b"<html><head><title>T</title><style>.a{color:red}</style><script>var key='ghp_x';</script></head>"
            b"<body><p>Phone &#49;3812345678</p><img alt='ID 110101199003077774'></body></html>")
    r = collect(extract_bytes(html, "page.html"))
    assert r.media_type == "text/html"
    assert "Phone 13812345678" in r.text() and "ID 110101199003077774" in r.text()
    assert "ghp_x" in r.text() and "color:red" not in r.text()
    xml = "<?xml version='1.0' encoding='GB18030'?><r id='13812345678'><a>甲</a>尾巴<b>乙</b></r>".encode("gb18030")
    r = collect(extract_bytes(xml, "data.xml"))
    assert r.media_type == "application/xml"
    assert [line for line in r.text().split("\n") if line] == ["13812345678", "甲", "尾巴", "乙"]


def test_eml_bodies_charsets_and_attachments_recursively() -> None:
    inner = m.zip_of({"deep/ids.txt": f"list {m.ID}".encode()})
    data = m.eml(f"正文 {m.PHONE}", charset="gb2312", html=f"<p>html <b>{m.CARD}</b></p>",
                 attachments={"报告.docx": m.docx(body="报告正文", header="机密★5年"), "ids.zip": inner}, subject="季度 报告")
    r = collect(extract_bytes(data, "mail.eml"))
    assert r.media_type == "message/rfc822"
    assert parts_of(r, m.PHONE) == {"body"} and parts_of(r, m.CARD) == {"body"}
    assert any("Subject: 季度 报告" in s.text for s in r.segments if s.part == "mail-header")
    [hdr] = r.where("机密★5年")
    assert hdr.path == "mail.eml!报告.docx" and hdr.part == "header"
    [deep] = r.where(m.ID)
    assert deep.path == "mail.eml!ids.zip!deep/ids.txt"


def test_eml_quoted_printable_and_base64_bodies() -> None:
    raw = (
        "From: a@example.com\r\nTo: b@example.com\r\nSubject: =?UTF-8?B?5py65a+G?=\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/mixed; boundary="XX"\r\n\r\n'
        "--XX\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
        "=E8=BA=AB=E4=BB=BD=E8=AF=81 110101199003077774\r\n"
        "--XX\r\nContent-Type: text/plain; charset=big5\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        + __import__("base64").b64encode("機密 0912345678".encode("big5")).decode() + "\r\n--XX--\r\n"
    ).encode()
    r = collect(extract_bytes(raw, "qp.eml"))
    assert "身份证 110101199003077774" in r.text() and "機密 0912345678" in r.text()
    assert "Subject: 机密" in r.text()


def test_legacy_doc_and_xls() -> None:
    r = collect(extract_bytes(m.doc(f"正文 {m.ID}\r第二段\r", "机密★5年\r"), "old.doc"))
    assert r.media_type == "application/msword"
    assert parts_of(r, m.ID) == {"body"} and parts_of(r, "机密★5年") == {"header"}
    r = collect(extract_bytes(m.xls([["姓名", "身份证"], ["张三", m.ID], ["手机", int(m.PHONE)]]), "old.xls"))
    assert r.media_type == "application/vnd.ms-excel"
    [sheet] = r.where(m.ID)
    assert sheet.sheet == "名单" and sheet.anchor_at(sheet.text.index(m.ID)) == "B2"
    assert sheet.anchor_at(sheet.text.index(m.PHONE)) == "B3"


def test_archives_nested_with_display_paths() -> None:
    tgz = m.tar_of({"c.txt": f"in tar {m.ID}".encode(), "d/e.docx": m.docx(header="机密★5年")}, "w:gz")
    seven = m.sevenz_of({"s/x.txt": f"seven {m.PHONE}".encode()})
    outer = m.zip_of({"b.tar.gz": tgz, "z.7z": seven, "plain.txt.gz": gzip.compress(m.CARD.encode()),
                      "data.bz2": bz2.compress(b"bz2 text"), "data.xz": lzma.compress(b"xz text")})
    r = collect(extract_bytes(outer, "a.zip"))
    assert r.notices == []
    paths = {s.path for s in r.segments}
    assert {"a.zip!b.tar.gz!c.txt", "a.zip!b.tar.gz!d/e.docx", "a.zip!z.7z!s/x.txt",
            "a.zip!plain.txt.gz!plain.txt", "a.zip!data.bz2!data", "a.zip!data.xz!data"} <= paths
    assert r.where(m.ID)[0].path == "a.zip!b.tar.gz!c.txt"
    assert r.where("机密★5年")[0].part == "header"


@pytest.mark.parametrize("mode", ["w", "w:gz", "w:bz2", "w:xz"])
def test_tar_variants(mode: str, tmp_path) -> None:
    p = tmp_path / "t.tar"
    p.write_bytes(m.tar_of({"x/y.txt": f"v {m.PHONE}".encode()}, mode))
    r = collect(extract_path(str(p), display="t.tar"))
    assert [s.path for s in r.where(m.PHONE)] == ["t.tar!x/y.txt"]


def test_zip_names_in_gbk_are_decoded() -> None:
    import io
    import zipfile

    # What Chinese Windows' "send to compressed folder" writes: GBK name bytes
    # without the UTF-8 flag. zipfile cannot write that, so patch the name.
    gbk_name = "报告.txt".encode("gbk")
    placeholder = b"abcd.txt"
    assert len(placeholder) == len(gbk_name)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr(placeholder.decode(), f"hello {m.PHONE}")
    r = collect(extract_bytes(buf.getvalue().replace(placeholder, gbk_name), "cn.zip"))
    assert [s.path for s in r.segments] == ["cn.zip!报告.txt"]


def test_pdf_without_text_layer_says_so() -> None:
    r = collect(extract_bytes(m.pdf(["", ""]), "scan.pdf"))  # pages with no text: a scan, to OCR later
    assert [(n.kind, n.reason, n.attributes["pages"]) for n in r.notices] == [("skipped", "no text layer", 2)]


def test_legacy_powerpoint_text_runs() -> None:
    # PowerPoint 97 keeps slide text as UTF-16 (TextCharsAtom) or 8-bit runs inside its record stream
    stream = b"\x00\x00\xa0\x0f" + f"第一页 {m.PHONE}".encode("utf-16-le") + b"\x00\x00\xa8\x0f" + b"Quarterly plan"
    r = collect(extract_bytes(m.ole_file({"PowerPoint Document": stream, "Current User": b"\x00" * 20}), "old.ppt"))
    assert r.media_type == "application/vnd.ms-powerpoint"
    assert f"第一页 {m.PHONE}" in r.text() and "Quarterly plan" in r.text()


def test_text_that_only_looks_like_markup_is_read_as_text() -> None:
    data = ("<info> 用户登录 13812345678\n" * 50 + "<unclosed & broken markup\n" + f"尾部 {m.ID}\n").encode()
    r = collect(extract_bytes(data, "app.log"))
    assert r.media_type == "text/plain" and m.ID in r.text() and r.notices == []
    r = collect(extract_bytes(b'<svc xmlns="urn:x"><k>ghp_x</k></svc>', "conf"))
    assert r.media_type == "application/xml" and "ghp_x" in r.text()


def test_html_meta_charset_is_honoured() -> None:
    page = '<html><head><meta charset="big5"><title>公告</title></head><body><p>機密 通知</p></body></html>'
    r = collect(extract_bytes(page.encode("big5"), "notice.htm"))
    assert "機密 通知" in r.text() and "公告" in r.text()
