"""Making outside text safe for the terminal."""

from __future__ import annotations

from drill.text import visible


def test_escape_sequences_are_shown_not_sent():
    title = "\x1b]0;owned\x07"
    clipboard = "\x1b]52;c;ZXZpbA==\x07"
    shown = visible(f"a{title}b{clipboard}c\x1b[2J")
    assert "\x1b" not in shown and "\x07" not in shown
    assert shown == "a\\x1b]0;owned\\x07b\\x1b]52;c;ZXZpbA==\\x07c\\x1b[2J"


def test_newline_and_tab_stay_and_carriage_return_does_not():
    assert visible("one\ttwo\nthree\r") == "one\ttwo\nthree\\x0d"


def test_lone_surrogates_c1_controls_and_bidi_overrides_are_escaped():
    assert visible("\ud800") == "\\ud800"
    assert visible("\x9b31m") == "\\x9b31m"
    assert visible("\u202eevil") == "\\u202eevil"


def test_ordinary_text_is_unchanged():
    text = "∂L/∂W = Xᵀ G — σ(x)(1 − σ(x)) ✓ 日本"
    assert visible(text) == text
