"""Every simulator of the agent's hardware, so tests, the demo and a desk run without a panel.

Each stands for a vendor's device with the calls its backend makes, and behaves like it where the
backend can tell (busy lines, deep sleep, canvases): ``waveshare_epd`` (Waveshare e-Paper HATs),
``inky`` (Pimoroni Inky boards), ``rgbmatrix`` (hzeller's HUB75 bindings) and ``alpha_sign`` (a serial
LED sign speaking the Alpha protocol, on a pseudo-terminal or a TCP port, over real bytes). A backend
uses one only when its settings say ``driver = "simulated-…"``. They import no backend: the backends
import them, on demand.
"""
