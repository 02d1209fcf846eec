"""The long-running service: the fetch→judge→notice pipeline, jobs on a schedule."""
