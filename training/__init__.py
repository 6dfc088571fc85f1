"""Influencer Scout's model side: dataset readers, the synthetic world, encoders, the
post-attentive profiler, training, evaluation, baselines and the model folder."""
