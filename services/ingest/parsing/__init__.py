"""Pure parsing of dropped news files: bytes in, articles (or a reasoned rejection) out. No I/O."""
