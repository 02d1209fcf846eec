"""Settings, rules and roster: reading and checking the files an operator edits."""
