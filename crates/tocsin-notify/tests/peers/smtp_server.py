#!/usr/bin/env python3
"""A small real SMTP server (aiosmtpd) for tocsin-notify's email tests.

Listens on 127.0.0.1:PORT in one of three modes:
  plain     plain SMTP (AUTH allowed without TLS, for the test only)
  starttls  plain SMTP that requires STARTTLS before MAIL
  tls       TLS from the first byte (SMTPS)

Every accepted message is written to OUT/NNNN.eml (the raw bytes as
received), after a first write to a temporary name, so a reader never sees
half a file. `--reply ADDRESS=CODE` answers RCPT TO:<ADDRESS> with CODE
(e.g. 550, 451) instead of accepting it. With `--user`/`--password`, AUTH
is required and only those credentials pass (others get aiosmtpd's 535).

Prints one line, "listening on 127.0.0.1:PORT", once it accepts
connections; runs until killed.
"""

import argparse
import asyncio
import itertools
import logging
import os
import ssl
import sys
import warnings

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

REPLY_TEXT = {
    "421": "4.3.0 Service not available, try later",
    "450": "4.2.1 Mailbox busy, try later",
    "451": "4.3.0 Local error in processing, try later",
    "452": "4.2.2 Insufficient storage, try later",
    "550": "5.1.1 No such user here",
    "551": "5.1.6 User not local",
    "552": "5.2.2 Mailbox full",
    "553": "5.1.3 Mailbox name not allowed",
    "554": "5.7.1 Transaction failed",
}


class Handler:
    def __init__(self, out, replies):
        self.out = out
        self.replies = replies
        self.counter = itertools.count(1)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        code = self.replies.get(address.lower())
        if code is not None:
            return f"{code} {REPLY_TEXT.get(code, 'Refused by the test server')}"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        n = next(self.counter)
        final = os.path.join(self.out, f"{n:04d}.eml")
        partial = final + ".part"
        with open(partial, "wb") as f:
            content = envelope.original_content or envelope.content
            if isinstance(content, str):
                content = content.encode("utf-8")
            f.write(content)
        os.replace(partial, final)
        return "250 Message accepted for delivery"


def authenticator_for(user, password):
    def authenticate(server, session, envelope, mechanism, auth_data):
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login.decode("utf-8", "replace") == user
            and auth_data.password.decode("utf-8", "replace") == password
        )
        return AuthResult(success=ok, handled=False)

    return authenticate


def parse_replies(pairs):
    replies = {}
    for pair in pairs:
        address, sep, code = pair.rpartition("=")
        if not sep or not address or not (code.isdigit() and len(code) == 3):
            sys.exit(f"--reply wants ADDRESS=CODE, got {pair!r}")
        replies[address.lower()] = code
    return replies


async def main():
    # aiosmtpd warns about AUTH without TLS (wanted here) and logs every
    # session; the tests read only this script's first line.
    warnings.simplefilter("ignore")
    logging.getLogger("mail.log").setLevel(logging.ERROR)
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--mode", choices=["plain", "starttls", "tls"], default="plain")
    p.add_argument("--cert", help="PEM certificate chain (leaf first) for TLS modes")
    p.add_argument("--key", help="PEM private key for TLS modes")
    p.add_argument("--user")
    p.add_argument("--password")
    p.add_argument("--out", required=True, help="directory for received messages")
    p.add_argument("--reply", action="append", default=[], metavar="ADDRESS=CODE")
    args = p.parse_args()

    if (args.user is None) != (args.password is None):
        sys.exit("--user and --password go together")
    os.makedirs(args.out, exist_ok=True)

    context = None
    if args.mode != "plain":
        if not args.cert or not args.key:
            sys.exit(f"--mode {args.mode} needs --cert and --key")
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(args.cert, args.key)

    handler = Handler(args.out, parse_replies(args.reply))
    auth = {}
    if args.user is not None:
        auth = {
            "authenticator": authenticator_for(args.user, args.password),
            "auth_required": True,
            # aiosmtpd offers AUTH only after STARTTLS when this is set; it
            # does not notice a connection that was TLS from the first byte,
            # and plain mode sends credentials in the clear on loopback on
            # purpose. So only STARTTLS mode keeps the rule.
            "auth_require_tls": args.mode == "starttls",
        }

    def protocol():
        return SMTP(
            handler,
            hostname="localhost",
            tls_context=context if args.mode == "starttls" else None,
            require_starttls=args.mode == "starttls",
            timeout=30,
            **auth,
        )

    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        protocol,
        host="127.0.0.1",
        port=args.port,
        ssl=context if args.mode == "tls" else None,
    )
    print(f"listening on 127.0.0.1:{args.port}", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
