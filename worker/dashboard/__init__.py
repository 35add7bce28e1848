"""``nodewatch dashboard``: the fleet, a cluster's nodes, a node's history and the alerts, as web pages over the
workers' Redis (read only; the alerts page's actions are the CLI's). ``app.build`` makes the ASGI app; the pages
are rendered on the server (``templates/``) with a few lines of script for live refresh (``static/``);
``views`` decides what they show, ``read`` gathers it, ``charts`` draws, ``access`` guards, ``i18n`` words."""
