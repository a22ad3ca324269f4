"""Staff: the roster, SMS commands from staff phones, and (later) the signed-in dashboard."""
