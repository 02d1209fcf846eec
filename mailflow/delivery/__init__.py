"""The outbox and sending it over SMTP."""
