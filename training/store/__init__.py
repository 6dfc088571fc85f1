"""The feature store: every post's features, written by a Spark job, read by influencer in batches.

At the public dataset's size (34k influencers, 10 M posts) the features of every post do not fit in
one process. ``scout features DATASET --out STORE`` embeds the posts as a Spark job (the encoders run
in the Python workers through ``predict_batch_udf``, on CUDA where a worker has it) and writes::

    STORE/store.json                    the manifest (training.store.manifest): encoders, dims,
                                        dataset fingerprint, counts
    STORE/image_encoder.safetensors     the image tower's trained weights, when it has any
    STORE/posts/bucket=K/part-*.parquet post_id, influencer, ts (Unix s), tagged, marked,
                                        mentioned (the sponsorship flags), features (F floats):
                                        influencers hashed into buckets, each bucket's rows sorted
                                        by influencer, then time, then post id
    STORE/packed/features.{json,rows}   the same features as one RowFile (training.rowfile), bucket
                                        after bucket, each influencer's posts in one run
    STORE/packed/influencers.parquet    influencer, start, end: each influencer's run of rows
    STORE/packed/posts.parquet          post_id, influencer, ts, tagged, marked, mentioned of
                                        every packed row

The Parquet files are the store a cluster reads (Spark ML baselines, other jobs); the packed copy is
what training reads: ``scout train --features STORE`` and ``scout evaluate --features STORE`` take
each batch's influencers with one read per influencer, so their memory is the batch's, not the
dataset's (training.store.read).
"""
