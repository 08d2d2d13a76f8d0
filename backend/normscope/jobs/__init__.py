"""Worker processes and the JobManager that runs experiments in them."""
