"""A learned variant filter: windows around the caller's candidate sites -> a small CNN ->
P(the site is a real variant), scored on held-out contigs against the caller's own filters."""
