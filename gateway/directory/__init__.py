"""The centres directory: reference data (provinces, the Six-Block Service Model:
:mod:`~gateway.directory.catalogue`), the offline gazetteer that turns what a citizen types into
a place (:mod:`~gateway.directory.gazetteer`), the nearest-centre search
(:mod:`~gateway.directory.nearest`), the in-memory browse snapshot the USSD menus read
(:mod:`~gateway.directory.browse`), the service visits citizens are shown
(:mod:`~gateway.directory.visits`) and CSV import/export (:mod:`~gateway.directory.centre_csv`).

May import: ``store``, ``menus``, ``config`` and the floor. USSD and SMS read the directory
from here; it knows neither.
"""
