"""The panel agent: verifies what the controller signed, shows it, keeps it, and reports back.

``PanelAgent`` is built in layers, one module each, every one standing on the one before:

- ``reporting``: the agent's clock (corrected by the controller's signed time), what it trusts, its
  faults, the state and events it publishes; ``batching`` decides which events wait for the next
  batch and which are urgent, ``health`` holds the fault records and reads the board's health;
- ``rotation``: what the panel shows at each moment (``pictures``: the frames decoded once) and the
  turn of the rotation;
- ``commands``: a technician's signed commands, the timed ones shown instead of the schedule;
- ``lifecycle``: start, connect, receive and apply a schedule, stop: ``PanelAgent`` itself.
"""

from panel_agent.agent.lifecycle import PanelAgent

__all__ = ["PanelAgent"]
