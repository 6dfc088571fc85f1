"""The look-up service: HTTP API and web page over the materialised influencer profiles.

``create_app(settings)`` (app.py) builds it; ``scout serve`` (cli.py) runs it with uvicorn.
"""
