"""Mail coming in: raw bytes and arrival times from IMAP or files, and the
identity that de-duplicates them."""
