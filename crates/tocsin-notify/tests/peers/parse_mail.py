#!/usr/bin/env python3
"""Reads one raw mail with Python's standard parser and prints what the
email tests check, as JSON: a few headers and every leaf part, decoded.

Usage: parse_mail.py FILE
"""

import email
import email.policy
import json
import sys

HEADERS = [
    "From", "To", "Subject", "Message-ID", "In-Reply-To", "References",
    "Auto-Submitted", "Content-Type", "Date", "MIME-Version",
]


def main():
    with open(sys.argv[1], "rb") as f:
        msg = email.message_from_binary_file(f, policy=email.policy.default)
    parts = []
    for part in msg.walk():
        if part.is_multipart():
            continue
        parts.append({"type": part.get_content_type(), "text": part.get_content()})
    print(json.dumps({
        "headers": {h: (str(msg[h]) if msg[h] is not None else None) for h in HEADERS},
        "multipart": msg.get_content_type(),
        "defects": [str(d) for d in msg.defects],
        "parts": parts,
    }))


if __name__ == "__main__":
    main()
