"""`newsrag serve`: an OpenAI-compatible chat endpoint with citations, and a REST API."""
