"""The record: models, the database connection and migrations, small query functions."""
