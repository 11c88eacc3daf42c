"""Serial LED signs speaking the Alpha Sign Communications Protocol (Alpha American, BetaBrite).

``protocol`` builds and parses the bytes (pure functions); ``simulator`` plays a sign on a
pseudo-terminal or a TCP port, so the backend is tested against a real byte stream without hardware.
"""
