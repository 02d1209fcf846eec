"""Deciding what a mail is and which rules it breaks; checks are pure."""
