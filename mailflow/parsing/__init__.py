"""Raw bytes to ParsedMail: charsets, HTML, .xlsx attachments, in a guarded child."""
