"""Influencer Scout's live side: post events, the Spark Structured Streaming job, its state,
sinks, the look-up service and metrics. Imports the model from `training`, never the reverse."""
