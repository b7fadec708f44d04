"""Articles sold at the cash desk: families, articles, their stock and its live channel."""
