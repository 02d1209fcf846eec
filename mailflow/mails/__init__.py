"""Which mail to write, for whom, with what context; templates rendered and queued."""
