"""What the record says: a person's day, figures over a period, exports."""
