"""The English text of every user-facing message gan_core raises or reports, by key.

One table: gan_core.errors.UserError renders from it; the studio shows the same keys in the page's
language (studio/locales/zh-CN.json, section "core"); tests/test_messages.py checks that every key
the code uses is here and in every locale, with the same {placeholders}.
"""
MESSAGES: dict[str, str] = {
}
