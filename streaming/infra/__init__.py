"""Starting and reaching real infrastructure: the Kafka broker, the SparkSession."""
