"""The Structured Streaming job: parse and validate (parse.py), then the later stages."""
