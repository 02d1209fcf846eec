"""Calendar and clock questions: workdays, periods, and when each thing is due."""
