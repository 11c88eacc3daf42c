"""The programs that join both sides: the `relais` command, the demo, the simulated department and
provisioning. The only code that imports both the controller and the panel agent."""
