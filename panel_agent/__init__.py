"""The panel agent: runs on a Raspberry Pi beside an LED or e-paper panel and shows what the controller signs.

It installs and runs without Flask, APScheduler or sqlite-utils (the controller's extras), so it must
never import ``controller``: it shares only ``relais`` (the wire format, MQTT set-up, atomic writes).
"""
