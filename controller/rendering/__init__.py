"""The rendering engine: from what a commune typed to the frames each kind of panel shows.

- ``model``: a message independent of any panel (pages, paragraphs, styled spans);
- ``markup``, ``typography``, ``wrap``: the Relais and NTCIP MULTI markups, French spacing, line breaking;
- ``profiles`` and ``layouts``: panels and layouts as data files (``profiles.toml``, ``layouts/``);
- ``fonts``, ``pictograms``, ``images``, ``qr``: what gets drawn;
- ``engine``: fitting, pages and drawing; ``preview``: what a person sees before publishing.
"""
