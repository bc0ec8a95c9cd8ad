"""One function per workflow step; the scripts in workflow/scripts call these."""
