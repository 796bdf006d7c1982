"""Config text is neutralised (newlogic.text); each output escapes only what it needs (newlogic.report.escape)."""

import pytest

from newlogic.errors import UserError
from newlogic.report import escape
from newlogic.text import check_text, neutralized, normalized, text_error
from newlogic.validation import check_config_text

HIDDEN = {"\x00": "U+0000", "\x1b": "U+001B", "\x7f": "U+007F", "\x85": "U+0085", "\u202e": "U+202E",
          "\u2066": "U+2066", "\u200b": "U+200B", "\u200d": "U+200D", "\ufeff": "U+FEFF", "\u00ad": "U+00AD",
          "\u2028": "U+2028", "\ue000": "U+E000"}


@pytest.mark.parametrize("char", list(HIDDEN))
def test_each_hidden_character_is_refused_by_its_code_point_and_removed_from_output(char: str) -> None:
    with pytest.raises(UserError) as error:
        check_text(f"Base{char}line", "label")
    message = str(error.value)
    assert HIDDEN[char] in message and char not in message and "\n" not in message
    assert neutralized(f"Base{char}line") == "Baseline"
    for render in (escape.latex, escape.markdown_cell, escape.html_text):
        assert char not in render(f"Base{char}line")


@pytest.mark.parametrize("text", ["+ MaxOut", "C&W (strong)", "ε = 0.3", "Baseline\n", "a\tb", "ReLog ∘ MinOut"])
def test_ordinary_labels_and_captions_pass(text: str) -> None:
    assert text_error(text) is None and check_text(text, "label") == text


def test_normalized_text_folds_compatibility_forms_hidden_characters_and_spaces() -> None:
    assert normalized("\uff2daxOut") == normalized("MaxOut") == normalized("Max\u200bOut") == "MaxOut"
    assert normalized("  a \t b\n") == "a b" and normalized("ﬁ") == "fi"
    assert normalized("MaxOut") != normalized("MinOut")


def _config(*labels: str, caption: str = "", setting_label: str = "FGSM") -> dict:
    models = [{"name": name, "label": label} for name, label in zip(["relu", "relog", "relog-maxout_4"], labels,
                                                                     strict=False)]
    return {"dataset": "digits", "attacks": {"fgsm_0.1": {"attack": "fgsm", "eps": 0.1, "label": setting_label}},
            "ablations": {"demo": {"models": models, "caption": caption}}}


@pytest.mark.parametrize(("config", "says"), [
    (_config("Baseline", "x\u202e21"), r"U\+202E"),
    (_config("Baseline", "Base\u200bline"), r"U\+200B"),
    (_config("MaxOut", "\uff2daxOut"), "read the same once normalised"),
    (_config("a  b", "a b"), "read the same once normalised"),
    (_config("Baseline", caption="see \x1b[2J"), "ablations.demo.caption"),
    (_config("Baseline", setting_label="FGSM\x00"), "attacks.fgsm_0.1.label"),
])
def test_the_dry_run_refuses_hidden_characters_and_twin_labels_in_one_line(config: dict, says: str) -> None:
    with pytest.raises(UserError, match=says) as error:
        check_config_text(config)
    assert "\n" not in str(error.value)


def test_distinct_labels_and_a_plain_caption_pass_the_dry_run() -> None:
    check_config_text(_config("Baseline", "+ ReLog", "+ MaxOut", caption="A caption\nover two lines."))


@pytest.mark.parametrize(("text", "markdown"), [
    ("C&W", "C&W"),
    ("C&W (strong)", "C&W (strong)"),
    ("&lt;b&gt;", "&amp;lt;b&amp;gt;"),
    ("&#60;script", "&amp;#60;script"),
    ("![x](http://evil.example/a.png)", r"!\[x\](http://evil.example/a.png)"),
    ("[click](http://evil.example)", r"\[click\](http://evil.example)"),
    ("[ref]: http://evil.example", r"\[ref\]: http://evil.example"),
    ("<img src=x>", "&lt;img src=x>"),
    ("p < 0.05", "p < 0.05"),
    ("a\x00b\x1bc", "abc"),
])
def test_markdown_escapes_only_what_markdown_needs(text: str, markdown: str) -> None:
    assert escape.markdown_cell(text) == markdown


def test_html_escapes_html_and_latex_escapes_latex() -> None:
    assert escape.html_text("C&W") == "C&amp;W"
    assert escape.latex("C&W") == r"C\&W"
    assert escape.html_text("a\u202eb<") == "ab&lt;"


@pytest.mark.parametrize(("value", "cell"), [
    ("=1+2", "'=1+2"), ("+ MaxOut", "'+ MaxOut"), ("-x", "'-x"), ("@SUM(A1)", "'@SUM(A1)"),
    ("\t=1", "' =1"), ("\r=1", "' =1"), ("  =1", "'  =1"), ("\u200b=1", "'=1"),
    ("Baseline", "Baseline"), ("C&W", "C&W"), (-0.2, -0.2), (1.5, 1.5), (3, 3), (True, True), (None, None),
])
def test_csv_cells_that_a_spreadsheet_would_run_get_a_quote(value: object, cell: object) -> None:
    assert escape.csv_cell(value) == cell


def test_a_table_frame_as_csv_keeps_numbers_numeric_and_quotes_formulas() -> None:
    import pandas as pd

    frame = pd.DataFrame([{"model": "relu", "label": "=HYPERLINK(\"http://evil.example\")", "clean": -0.2},
                          {"model": "relog", "label": "+ ReLog", "clean": 95.5}])
    lines = escape.csv_text(frame).splitlines()
    assert lines[1] == "relu,\"'=HYPERLINK(\"\"http://evil.example\"\")\",-0.2"
    assert lines[2] == "relog,'+ ReLog,95.5"
