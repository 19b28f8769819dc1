"""HTTP routes, thin: parse, call a repository, shape the answer."""
