"""Device byte protocols: pure functions that build and parse what a device reads on its wire.

``alpha``: the Alpha Sign Communications Protocol of Alpha American and BetaBrite serial LED signs,
shared by the ``alpha`` backend and the sign simulator (``panel_agent.simulators.alpha_sign``).
"""
