"""Channel adapters. :mod:`~gateway.channels.africastalking` is the only module that knows
Africa's Talking's field names, ``CON``/``END``, status words and the SDK; the rest of the
gateway sees its records (``UssdHop``, ``InboundSms``, ``DeliveryReport``…) and error tree.

May import: ``config`` and the floor (``phones``) only.
"""
