"""Search: the query language, the one search API, fusion and snippets."""
