"""The generation job: ``config`` (the frozen ``RenderJobConfig`` pinned in ``config.json``),
``run`` (plan, partition over nodes, resume, run through ``render.backends``, report) and
``cli`` (``clip2point render``). The per-process worker is ``render.worker``.

Deliberately empty of imports: ``render.worker`` imports ``job.config``, and a package
``__init__`` that imported ``run`` would import the worker back while it is half-loaded.
"""
