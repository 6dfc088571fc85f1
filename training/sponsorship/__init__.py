"""Sponsorship: disclosure markers and brand mentions, and the sponsored-post head."""
