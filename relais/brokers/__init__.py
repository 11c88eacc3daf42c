"""Brokers Relais runs itself: Mosquitto (loopback for the demo and tests; users, ACLs and TLS for
production), its certificates, and a RabbitMQ node for the tests."""
