"""How Flink's Java code trims the text of an option: ``String.trim()`` strips every char up to U+0020, and only
those (Python's ``str.strip()`` also strips U+0085 and the Unicode spaces, which Java keeps)."""

JAVA_TRIM = "".join(map(chr, range(0x21)))
