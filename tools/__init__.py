"""Developer tools that are not part of the service: mutation testing (`make mutants`)."""
