"""The USSD service: the hop (:mod:`~gateway.ussd.hop`: AT's form in, ``CON``/``END`` text out,
never raising), the ports the menu engine calls (:mod:`~gateway.ussd.ports`: directory reads,
SMS-me, subscribe, feedback), the Redis session store (:mod:`~gateway.ussd.sessions`) and the
budget walk over every screen of a language (:mod:`~gateway.ussd.walk`: CI and translation
imports run it).

May import: ``sms`` (to queue SMS and record consent), ``runtime``, ``directory``,
``channels``, ``store``, ``menus``, ``config`` and the floor. No outbound HTTP on a hop.
"""
