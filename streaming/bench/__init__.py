"""`scout bench …`: measured claims. Each benchmark imports only what it measures, lazily."""
